package sqlite

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/heraldpush/herald/internal/store/sqlstore"
)

func TestMigrationsRecordedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	ctx := t.Context()
	want, err := sqlstore.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		t.Fatalf("loadMigrations: %v", err)
	}
	if len(want) == 0 || want[0].Name != "0001_init.sql" {
		t.Fatalf("embedded migrations = %v, want 0001_init.sql first", want)
	}
	for round := range 3 {
		s, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatalf("Open (round %d): %v", round, err)
		}
		rows, err := s.DB().QueryContext(ctx, "SELECT version, name FROM schema_migrations ORDER BY version")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var v int
			var name string
			if err := rows.Scan(&v, &name); err != nil {
				t.Fatal(err)
			}
			got = append(got, name)
			if v != len(got) {
				t.Errorf("round %d: version %d recorded at position %d", round, v, len(got))
			}
		}
		rows.Close()
		if len(got) != len(want) {
			t.Errorf("round %d: schema_migrations = %v, want one row per migration (%d)", round, got, len(want))
		}
		// A re-open applies nothing: the migrate step reports zero.
		n, err := migrate(ctx, s.DB(), want, time.Now, discard())
		if err != nil || n != 0 {
			t.Errorf("round %d: migrate on an up-to-date database applied %d, %v; want 0", round, n, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrationsDataSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	ctx := t.Context()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, "INSERT INTO apps (id, name, created_at) VALUES ('a', 'A', 1)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if a, err := s.App(ctx, "a"); err != nil || a.Name != "A" {
		t.Fatalf("App after re-open = %+v, %v", a, err)
	}
}

func TestMigrateAppliesInOrderEachInItsTransaction(t *testing.T) {
	ctx := t.Context()
	db := rawDB(t)
	fsys := fstest.MapFS{
		"m/0002_second.sql": {Data: []byte("CREATE TABLE two (x INTEGER); INSERT INTO two SELECT x FROM one;")},
		"m/0001_first.sql":  {Data: []byte("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (7);")},
		"m/0003_broken.sql": {Data: []byte("CREATE TABLE three (x INTEGER); INSERT INTO nowhere VALUES (1);")},
		"m/README.md":       {Data: []byte("not a migration")},
	}
	ms, err := sqlstore.LoadMigrations(fsys, "m")
	if err != nil {
		t.Fatalf("loadMigrations: %v", err)
	}
	n, err := migrate(ctx, db, ms, time.Now, discard())
	if err == nil || !strings.Contains(err.Error(), "0003_broken.sql") {
		t.Fatalf("migrate error = %v, want one naming 0003_broken.sql", err)
	}
	if n != 2 {
		t.Errorf("applied %d before the failure, want 2", n)
	}
	var x int
	if err := db.QueryRowContext(ctx, "SELECT x FROM two").Scan(&x); err != nil || x != 7 {
		t.Errorf("0002 ran after 0001? SELECT x FROM two = %d, %v", x, err)
	}
	// The failed step left nothing behind: no table, no record.
	var tables, recorded int
	db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = 'three'").Scan(&tables)
	db.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = 3").Scan(&recorded)
	if tables != 0 || recorded != 0 {
		t.Errorf("failed migration left table=%d record=%d, want 0, 0", tables, recorded)
	}
	// Fixed, it applies on the next run, and only it.
	fsys["m/0003_broken.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE three (x INTEGER);")}
	ms, _ = sqlstore.LoadMigrations(fsys, "m")
	if n, err := migrate(ctx, db, ms, time.Now, discard()); err != nil || n != 1 {
		t.Errorf("second migrate = %d, %v; want 1, nil", n, err)
	}
}

func TestMigrateRefusesNewerDatabase(t *testing.T) {
	ctx := t.Context()
	db := rawDB(t)
	one := []sqlstore.Migration{{Version: 1, Name: "0001_a.sql", SQL: "CREATE TABLE a (x)"}}
	two := append(one, sqlstore.Migration{Version: 2, Name: "0002_b.sql", SQL: "CREATE TABLE b (x)"})
	if _, err := migrate(ctx, db, two, time.Now, discard()); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate(ctx, db, one, time.Now, discard()); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("migrate with fewer migrations than applied: error = %v, want a refusal", err)
	}
}

func TestLoadMigrationsRejectsBadNumbering(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"repeat":    {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
		"no number": {"m/init.sql": {}},
		"zero":      {"m/0000_a.sql": {}},
	} {
		if _, err := sqlstore.LoadMigrations(fsys, "m"); err == nil {
			t.Errorf("%s: loadMigrations accepted it", name)
		}
	}
}

// rawDB opens a bare database configured like Open's, without migrations.
func rawDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "raw.db"), time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PingContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
