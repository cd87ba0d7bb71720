// Package pgtest gives tests a PostgreSQL of their own: a fresh schema or
// a fresh database on the server HERALD_TEST_POSTGRES names (a postgres://
// URL; scripts/test starts one with scripts/pg-start and always sets it),
// dropped when the test ends.
//
// When the variable is unset the test is skipped with a message saying
// so; when it is set and the server does not answer, the test fails: CI
// must never pass by skipping.
//
// The package is only for tests; it imports testing.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Env is the variable naming the test server.
const Env = "HERALD_TEST_POSTGRES"

// ServerURL returns the server's URL from getenv(Env), skipping the test
// when it is unset and failing it when the server does not answer.
func ServerURL(t testing.TB, getenv func(string) string) string {
	t.Helper()
	u := getenv(Env)
	if u == "" {
		t.Skipf("%s is not set: no PostgreSQL to test against (scripts/test starts one with scripts/pg-start)", Env)
	}
	db := open(t, u)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("%s is set but PostgreSQL does not answer: %v", Env, err)
	}
	return u
}

func open(t testing.TB, u string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	return stdlib.OpenDB(*cfg)
}

// name returns a fresh lower-case identifier with prefix.
func name(prefix string) string {
	return prefix + strings.ToLower(rand.Text()[:16])
}

// Schema creates a fresh schema and returns the server URL with its
// search_path set to it, so everything a store creates lands there. The
// schema is dropped when the test ends.
func Schema(t testing.TB, getenv func(string) string) string {
	t.Helper()
	base := ServerURL(t, getenv)
	schema := name("t_")
	db := open(t, base)
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withParam(t, base, "search_path", schema)
}

// Database creates a fresh database and returns its URL; it is dropped
// (with any connection still open to it) when the test ends. Tests that
// run River or several processes use a database of their own.
func Database(t testing.TB, getenv func(string) string) string {
	t.Helper()
	base := ServerURL(t, getenv)
	dbName := name("herald_t_")
	db := open(t, base)
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+dbName); err != nil {
		db.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP DATABASE "+dbName+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", dbName, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	u.Path = "/" + dbName
	return u.String()
}

func withParam(t testing.TB, base, key, value string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
