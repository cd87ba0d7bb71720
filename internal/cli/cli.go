package cli

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/postgres"
	"github.com/heraldpush/herald/internal/store/sqlite"
)

// Version is the herald version; release builds set it with -ldflags.
const Version = "0.1.0-dev"

// Env is what a command may touch of the outside world.
type Env struct {
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
	// Listening, if set, is called with the address herald serve listens
	// on, once it accepts connections (tests listen on 127.0.0.1:0).
	Listening func(addr string)
}

const usage = `herald: a self-hosted push-notification service

Usage:
  herald serve [flags]              run the server (herald serve -h for flags)
  herald app create --name N [--json]
  herald app list [--json]
  herald app rotate-key --app ID --kind KIND [--json]
  herald app set-fcm --app ID --service-account FILE [--json]
  herald app set-apns --app ID --key FILE --key-id K --team-id T --topic BUNDLE [--production] [--json]
  herald admin set-password [--data DIR] --password-file FILE|-
  herald config [serve flags]       print the effective serve settings
  herald bench KIND [flags] [--json]  measure: webpush, crypto, api, audience, growth, fcm, apns (herald bench KIND -h)
  herald import --app ID [--format auto|csv|jsonl|azure|onesignal] [--allow-endpoint HOST]… [--batch N] FILE|-
  herald export --app ID [--format csv|jsonl] [FILE|-]
  herald send --api-key KEY [--server URL] (--all|--tag T…|--alias A…|--file F) --title T [--wait]
  herald vapid generate [--json]
  herald vapid set --app ID [--private-key-file FILE] [--subject mailto:…]
  herald version

Every command that touches the store takes --data DIR (env HERALD_DATA,
default ./herald-data).
`

// Run executes the command in args (without the program name) and returns
// the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], env)
	case "app":
		err = runApp(ctx, args[1:], env)
	case "admin":
		err = runAdmin(ctx, args[1:], env)
	case "config":
		err = runConfig(args[1:], env)
	case "bench":
		err = runBench(ctx, args[1:], env)
	case "import":
		err = runImport(ctx, args[1:], env)
	case "export":
		err = runExport(ctx, args[1:], env)
	case "send":
		err = runSend(ctx, args[1:], env)
	case "vapid":
		err = runVAPID(ctx, args[1:], env)
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "herald", Version)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
	default:
		fmt.Fprintf(env.Stderr, "herald: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == flag.ErrHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "herald:", err)
		if _, ok := err.(usageError); ok {
			return 2
		}
		return 1
	}
	return 0
}

// usageError is a mistake in how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// storeFlags are the flags every command that opens the store takes.
type storeFlags struct {
	data  string
	store string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.data, "data", config.DefaultData, "data directory (env HERALD_DATA)")
	fs.StringVar(&s.store, "store", "", "store: empty for the embedded SQLite store in --data, or a postgres:// URL shared by several nodes (env HERALD_STORE)")
}

// resolve applies environment variables to flags the user did not set.
func (s *storeFlags) resolve(fs *flag.FlagSet, getenv func(string) string) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := getenv("HERALD_DATA"); v != "" && !set["data"] {
		s.data = v
	}
	if v := getenv("HERALD_STORE"); v != "" && !set["store"] {
		s.store = v
	}
}

// backend is an opened store with what the delivery engine needs of it.
type backend struct {
	store.Store
	db         *sql.DB
	driver     riverdriver.Driver[*sql.Tx]
	singleNode bool // only one herald serve may work this store's jobs
	// migrationLock serialises River's migrations between nodes starting
	// together (delivery.Options.MigrationLock); nil for one node.
	migrationLock func(context.Context) (func(), error)
}

// openStore opens the store the flags name.
func openStore(ctx context.Context, data, storeURL string) (*backend, error) {
	switch {
	case storeURL == "" || storeURL == "sqlite":
		st, err := sqlite.Open(ctx, filepath.Join(data, "herald.db"), sqlite.Options{})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return &backend{Store: st, db: st.DB(), driver: riversqlite.New(st.DB()), singleNode: true}, nil
	case postgres.IsURL(storeURL):
		// Several nodes share this database: River's database/sql driver
		// works the jobs on the store's own pool, so enqueues still join
		// the store's transactions. The URL may hold a password: errors
		// never repeat it.
		st, err := postgres.Open(ctx, storeURL, postgres.Options{})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return &backend{Store: st, db: st.DB(), driver: riverdatabasesql.New(st.DB()), migrationLock: st.LockMigrations}, nil
	}
	return nil, errors.New("store: want empty (the embedded SQLite store in --data) or a postgres:// URL")
}

func runConfig(args []string, env Env) error {
	c, err := config.LoadServe(args, env.Getenv, env.Stderr)
	if err != nil {
		return err
	}
	for _, l := range c.Redacted() {
		fmt.Fprintln(env.Stdout, l)
	}
	return nil
}
