package apns

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apns/apnstest"
)

const (
	testTeam  = "TEAM123456"
	testKeyID = "KEY1234567"
	testTopic = "com.example.herald"
)

// clock is a test clock that only moves when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// deviceToken returns the i-th made-up 32-byte device token in hex.
func deviceToken(i int) string { return fmt.Sprintf("%064x", 0xabc000+i) }

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// env is a fake APNs with one registered key and a Client for it, both
// on the same clock.
type env struct {
	srv    *apnstest.Server
	client *Client
	clock  *clock
	creds  Credentials
}

func newEnv(t testing.TB, o apnstest.Options) *env {
	t.Helper()
	c := newClock()
	o.Now = c.Now
	srv := apnstest.Start(o)
	t.Cleanup(srv.Close)
	key, err := srv.NewKey(testTeam, testKeyID, testTopic)
	if err != nil {
		t.Fatal(err)
	}
	creds := Credentials{KeyID: testKeyID, TeamID: testTeam, Topic: testTopic, Key: key}
	cl, err := NewClient(creds, Options{BaseURL: srv.URL(), TLS: srv.TLSConfig(), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &env{srv: srv, client: cl, clock: c, creds: creds}
}
