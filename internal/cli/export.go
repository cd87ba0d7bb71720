package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/heraldpush/herald/internal/importer"
)

// runExport is herald export: it writes an app's subscribers as Herald's
// CSV or JSON lines, which herald import reads back.
func runExport(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("herald export", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: herald export --app ID [--data DIR] [--format csv|jsonl] [FILE|-]")
		fs.PrintDefaults()
	}
	var sf storeFlags
	sf.register(fs)
	appID := fs.String("app", "", "app to export (required)")
	format := fs.String("format", "csv", "file format: csv or jsonl")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sf.resolve(fs, env.Getenv)
	if *appID == "" {
		return usageError{"export: --app is required"}
	}
	if fs.NArg() > 1 {
		return usageError{fmt.Sprintf("export: unexpected argument %q", fs.Arg(1))}
	}
	f, err := importer.ParseExportFormat(*format)
	if err != nil {
		return usageError{"export: " + err.Error()}
	}
	st, err := openStore(ctx, sf.data, sf.store)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkApp(ctx, st, *appID); err != nil {
		return err
	}

	name := fs.Arg(0)
	if name == "" || name == "-" {
		_, err := importer.Export(ctx, st, *appID, env.Stdout, f)
		return err
	}
	n, err := exportFile(ctx, st, *appID, name, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "exported %d subscribers to %s\n", n, name)
	return nil
}

// exportFile writes the export beside name and renames it into place, so a
// failed export never leaves a truncated file that looks complete.
func exportFile(ctx context.Context, st importer.Lister, appID, name string, f importer.Format) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	n, err := importer.Export(ctx, st, appID, tmp, f)
	err = errors.Join(err, tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return n, err
	}
	return n, nil
}
