package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/storetest"
)

// openTest opens a fresh database in the test's temporary directory and
// closes it when the test ends.
func openTest(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "data", "herald.db"), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, Options{}) })
}

func TestNotFoundIsWrapped(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	if err := s.CreateApp(ctx, store.App{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{}
	_, checks["App"] = s.App(ctx, "missing")
	_, checks["AppByCredential"] = s.AppByCredential(ctx, store.CredAPIKey, []byte("x"))
	checks["UpdateApp"] = s.UpdateApp(ctx, store.App{ID: "missing"})
	_, checks["Subscriber"] = s.Subscriber(ctx, "a", "missing")
	_, checks["UpdateSubscriber"] = s.UpdateSubscriber(ctx, "a", "missing", store.SubscriberUpdate{})
	checks["DeleteSubscriber"] = s.DeleteSubscriber(ctx, "a", "missing")
	_, checks["UpsertSubscriber(no app)"] = s.UpsertSubscriber(ctx, store.Subscriber{AppID: "missing", Channel: store.ChannelFCM, Token: "t"})
	for name, err := range checks {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: error = %v, want one wrapping store.ErrNotFound", name, err)
			continue
		}
		if err == store.ErrNotFound || len(err.Error()) <= len(store.ErrNotFound.Error()) {
			t.Errorf("%s: error %q is the bare sentinel; want it wrapped with context", name, err)
		}
		if errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: error %q is also ErrConflict", name, err)
		}
	}
}

func TestUnknownCredentialKind(t *testing.T) {
	s := openTest(t, Options{})
	_, err := s.AppByCredential(t.Context(), store.CredentialKind("bogus"), []byte("x"))
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AppByCredential(bogus kind) error = %v, want a plain error", err)
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if s, err := Open(t.Context(), p, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

func TestPragmas(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	// Ask on several connections at once, so that each is checked, not
	// only the first the pool happens to hand out.
	for i := range 3 {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"foreign_keys": "1",
			"synchronous":  "1", // NORMAL
			"busy_timeout": "10000",
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, pragma, err)
			}
			if got != want {
				t.Errorf("conn %d: PRAGMA %s = %q, want %q", i, pragma, got, want)
			}
		}
	}
}
