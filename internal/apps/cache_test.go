package apps_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlite"
	"github.com/heraldpush/herald/internal/webpush"
)

// countingApps counts the credential lookups that reach the store.
type countingApps struct {
	store.Apps
	lookups atomic.Int64
}

func (c *countingApps) AppByCredential(ctx context.Context, kind store.CredentialKind, value []byte) (store.App, error) {
	c.lookups.Add(1)
	return c.Apps.AppByCredential(ctx, kind, value)
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestCredentialCache(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := secret.NewSealer(bytes.Repeat([]byte{3}, 32))
	clk := &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	counted := &countingApps{Apps: st}
	svc := apps.New(counted, sealer, clk.now)
	// other plays another process or node sharing the database.
	other := apps.New(st, sealer, clk.now)

	a, err := svc.Create(ctx, "Shop")
	if err != nil {
		t.Fatal(err)
	}
	lookups := func() int64 { return counted.lookups.Load() }

	for range 100 {
		if got, err := svc.ByAPIKey(ctx, a.APIKey); err != nil || got.ID != a.ID {
			t.Fatalf("api key: %v", err)
		}
	}
	if n := lookups(); n != 1 {
		t.Errorf("100 requests with one key: %d store lookups, want 1", n)
	}

	// A wrong key is never remembered: each one reaches the store.
	for range 3 {
		if _, err := svc.ByAPIKey(ctx, a.APIKey+"x"); !errors.Is(err, apps.ErrUnauthorized) {
			t.Fatalf("wrong key: %v", err)
		}
	}
	if n := lookups(); n != 4 {
		t.Errorf("after three wrong keys: %d store lookups, want 4", n)
	}

	// A cached EngageLab AppKey still needs its MasterSecret.
	if _, err := svc.ByEngageLab(ctx, a.EngageLab.AppKey, a.EngageLab.MasterSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ByEngageLab(ctx, a.EngageLab.AppKey, a.EngageLab.MasterSecret+"0"); !errors.Is(err, apps.ErrUnauthorized) {
		t.Errorf("cached AppKey with a wrong secret: %v", err)
	}

	// Rotated elsewhere: the old key works here until the TTL runs out.
	rot, err := other.Rotate(ctx, a.ID, apps.KindAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ByAPIKey(ctx, a.APIKey); err != nil {
		t.Errorf("old key within the TTL of its lookup: %v", err)
	}
	clk.add(apps.CredentialTTL)
	if _, err := svc.ByAPIKey(ctx, a.APIKey); !errors.Is(err, apps.ErrUnauthorized) {
		t.Errorf("old key after the TTL: %v", err)
	}
	if got, err := svc.ByAPIKey(ctx, rot.APIKey); err != nil || got.ID != a.ID {
		t.Errorf("new key: %v", err)
	}

	// Rotated through this Service: the old key fails at once.
	rot2, err := svc.Rotate(ctx, a.ID, apps.KindAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ByAPIKey(ctx, rot.APIKey); !errors.Is(err, apps.ErrUnauthorized) {
		t.Errorf("key rotated through this service still works: %v", err)
	}
	if _, err := svc.ByAPIKey(ctx, rot2.APIKey); err != nil {
		t.Errorf("newest key: %v", err)
	}

	// A VAPID change through this Service is seen at once.
	key, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	info, err := svc.SetVAPID(ctx, a.ID, apps.VAPIDSettings{PrivateKey: key.Bytes(), Subject: "mailto:ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.ByAPIKey(ctx, rot2.APIKey)
	if err != nil || got.VAPIDSubject != "mailto:ops@example.com" || len(got.VAPIDPublicKey) == 0 || info.Subject != got.VAPIDSubject {
		t.Errorf("after SetVAPID the app is %+v (%v)", got.VAPIDSubject, err)
	}
}
