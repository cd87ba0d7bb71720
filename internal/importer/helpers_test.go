package importer_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/importer"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlite"
)

// testEnv is a SQLite store with two apps, app-a and app-b, and an
// Importer over it that allows Web Push endpoints on 127.0.0.1.
type testEnv struct {
	st *sqlite.Store
	im *importer.Importer
}

func newEnv(tb testing.TB) *testEnv {
	tb.Helper()
	ctx := context.Background()
	// Opened as herald import opens it: batches on a bulk connection.
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "herald.db"), sqlite.Options{BulkCacheMiB: 256})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	for _, id := range []string{"app-a", "app-b"} {
		if err := st.CreateApp(ctx, store.App{ID: id, Name: id}); err != nil {
			tb.Fatal(err)
		}
	}
	policy, err := egress.New([]string{"127.0.0.1"})
	if err != nil {
		tb.Fatal(err)
	}
	return &testEnv{st: st, im: importer.New(st, registry.New(st, policy, time.Now), time.Now)}
}

// badLine is one row reported bad.
type badLine struct {
	Line   int
	Reason string
}

// run imports text into appID and returns the stats and the bad lines.
func (e *testEnv) run(t testing.TB, appID, text string, o importer.Options) (importer.Stats, []badLine) {
	t.Helper()
	var bad []badLine
	o.Bad = func(line int, reason string) { bad = append(bad, badLine{line, reason}) }
	s, err := e.im.Import(context.Background(), appID, strings.NewReader(text), o)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if got := s.Created + s.Updated + s.Unchanged + s.Skipped + s.Bad; got != s.Read {
		t.Errorf("stats do not add up: %+v", s)
	}
	if int64(len(bad)) != s.Bad {
		t.Errorf("%d bad lines reported, stats say %d", len(bad), s.Bad)
	}
	return s, bad
}

// all lists every subscriber of appID by token.
func (e *testEnv) all(t testing.TB, appID string) map[string]store.Subscriber {
	t.Helper()
	out := map[string]store.Subscriber{}
	var after int64
	for {
		page, err := e.st.ListSubscribers(context.Background(), appID, store.SubscriberFilter{AfterID: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page {
			if _, dup := out[s.Token]; dup {
				t.Errorf("token %s stored twice", s.Token)
			}
			out[s.Token] = s
		}
		if len(page) < 1000 {
			return out
		}
		after = page[len(page)-1].ID
	}
}

// export returns appID's export in format f.
func (e *testEnv) export(t testing.TB, appID string, f importer.Format) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := importer.Export(context.Background(), e.st, appID, &b, f); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// webKeys returns a fresh browser key pair's public point and an auth
// secret, base64url.
func webKeys() (p256dh, auth string) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	a := make([]byte, 16)
	rand.Read(a)
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(a)
}
