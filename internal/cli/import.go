package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/importer"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlite"
)

// allowList is a repeatable --allow-endpoint flag.
type allowList []string

func (l *allowList) String() string { return strings.Join(*l, ",") }
func (l *allowList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// runImport is herald import: it reads a file of subscribers (Herald's CSV
// or JSON lines, an Azure Notification Hubs or OneSignal export) into an
// app, validating each row as the API would.
func runImport(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("herald import", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: herald import --app ID [--data DIR] [--format auto|csv|jsonl|azure|onesignal] [--allow-endpoint HOST]… [--batch N] FILE|-")
		fs.PrintDefaults()
	}
	var sf storeFlags
	sf.register(fs)
	appID := fs.String("app", "", "app to import into (required)")
	format := fs.String("format", "auto", "file format: auto (tell from the first line), csv, jsonl, azure or onesignal")
	var allow allowList
	fs.Var(&allow, "allow-endpoint", "extra push-service host Web Push endpoints may use, as for herald serve; repeatable (env HERALD_ALLOW_ENDPOINTS, comma-separated)")
	batch := fs.Int("batch", importer.DefaultBatch, "rows written per transaction")
	workers := fs.Int("workers", 0, "goroutines validating rows; 0 means one per CPU")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sf.resolve(fs, env.Getenv)
	if *appID == "" {
		return usageError{"import: --app is required"}
	}
	if fs.NArg() != 1 {
		return usageError{"import: want one FILE (or - for standard input) after the flags"}
	}
	f, err := importer.ParseImportFormat(*format)
	if err != nil {
		return usageError{"import: " + err.Error()}
	}
	if *batch <= 0 {
		return usageError{"import: --batch must be positive"}
	}
	if len(allow) == 0 {
		for _, h := range strings.Split(env.Getenv("HERALD_ALLOW_ENDPOINTS"), ",") {
			if h = strings.TrimSpace(h); h != "" {
				allow = append(allow, h)
			}
		}
	}
	policy, err := egress.New(allow)
	if err != nil {
		return err
	}

	in, size, err := openInput(fs.Arg(0))
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := openImportStore(ctx, sf.data, sf.store)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkApp(ctx, st, *appID); err != nil {
		return err
	}

	im := importer.New(st, registry.New(st, policy, time.Now), time.Now)
	progress := &importer.Progress{}
	meter := importer.StartMeter(env.Stderr, progress, importer.MeterOptions{Total: size, TTY: isTerminal(env.Stderr)})
	stats, err := im.Import(ctx, *appID, in, importer.Options{
		Format: f, Batch: *batch, Workers: *workers, Progress: progress,
		Bad: func(line int, reason string) { meter.Println(fmt.Sprintf("line %d: %s", line, reason)) },
	})
	meter.Stop()
	if stats.Read > 0 || err == nil {
		if perr := printImportStats(env, stats, *asJSON); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// importCacheMiB is the page cache of the SQLite connection an import
// writes on (sqlite.Options.BulkCacheMiB): a quarter of a 1M-subscriber
// app's database, the part of the token index new rows land on.
const importCacheMiB = 256

// openImportStore opens the store as openStore does, but for the embedded
// store with a bulk connection of its own for the import's batches.
func openImportStore(ctx context.Context, data, storeURL string) (store.Store, error) {
	if storeURL != "" && storeURL != "sqlite" {
		b, err := openStore(ctx, data, storeURL)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	st, err := sqlite.Open(ctx, filepath.Join(data, "herald.db"), sqlite.Options{BulkCacheMiB: importCacheMiB})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// openInput opens FILE, or standard input for "-", and returns its size
// when it is a regular file (0 otherwise: no percentage or ETA).
func openInput(name string) (io.ReadCloser, int64, error) {
	f := os.Stdin
	if name != "-" {
		var err error
		if f, err = os.Open(name); err != nil {
			return nil, 0, fmt.Errorf("import: %w", err)
		}
	}
	var size int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	if name == "-" {
		return io.NopCloser(f), size, nil // standard input is not ours to close
	}
	return f, size, nil
}

// checkApp says clearly when the app does not exist, before any work.
func checkApp(ctx context.Context, st store.Apps, id string) error {
	if _, err := st.App(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("app %s does not exist (herald app list shows the apps)", id)
		}
		return err
	}
	return nil
}

func printImportStats(env Env, s importer.Stats, asJSON bool) error {
	if asJSON {
		type out struct {
			Format    importer.Format  `json:"format"`
			Read      int64            `json:"read"`
			Created   int64            `json:"created"`
			Updated   int64            `json:"updated"`
			Unchanged int64            `json:"unchanged"`
			Skipped   int64            `json:"skipped"`
			Bad       int64            `json:"bad"`
			SkippedBy map[string]int64 `json:"skipped_by"`
		}
		return writeJSON(env, out{s.Format, s.Read, s.Created, s.Updated, s.Unchanged, s.Skipped, s.Bad, s.SkippedBy})
	}
	w := env.Stdout
	fmt.Fprintf(w, "read %d rows (%s): %d created, %d updated, %d unchanged, %d skipped, %d bad\n",
		s.Read, s.Format, s.Created, s.Updated, s.Unchanged, s.Skipped, s.Bad)
	reasons := make([]string, 0, len(s.SkippedBy))
	for r := range s.SkippedBy {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  skipped %d: %s\n", s.SkippedBy[r], r)
	}
	return nil
}
