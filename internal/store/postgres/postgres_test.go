package postgres

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/postgres/pgtest"
	"github.com/heraldpush/herald/internal/store/sqlstore"
	"github.com/heraldpush/herald/internal/store/storetest"
)

// openTest opens a store in a fresh schema and closes it when the test
// ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), pgtest.Schema(t, os.Getenv), Options{})
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
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

func TestNotFoundIsWrapped(t *testing.T) {
	s := openTest(t)
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
	_, _, checks["UpsertSubscribers(no app)"] = s.UpsertSubscribers(ctx, []store.Subscriber{{AppID: "missing", Channel: store.ChannelFCM, Token: "t"}})
	for name, err := range checks {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: error = %v, want one wrapping store.ErrNotFound", name, err)
			continue
		}
		if errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: error %q is also ErrConflict", name, err)
		}
	}
}

func TestOpenRejectsOtherURLs(t *testing.T) {
	for _, u := range []string{"", "sqlite", "/tmp/x.db", "mysql://x"} {
		if s, err := Open(t.Context(), u, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", u)
		}
	}
}

// TestMigrationsOnce opens two stores on one fresh schema at once: the
// advisory lock lets each migration run once, and a third open applies
// nothing.
func TestMigrationsOnce(t *testing.T) {
	dsn := pgtest.Schema(t, os.Getenv)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			s, err := Open(context.Background(), dsn, Options{})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	s, err := Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, err := sqlstore.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var n, maxV int
	if err := s.db.QueryRowContext(t.Context(), "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || maxV != len(ms) {
		t.Errorf("schema_migrations has %d rows up to %d, want %d", n, maxV, len(ms))
	}
}
