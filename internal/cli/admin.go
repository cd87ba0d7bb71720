package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/heraldpush/herald/internal/admin"
	"github.com/heraldpush/herald/internal/config"
)

const adminUsage = `Usage:
  herald admin set-password [--data DIR] --password-file FILE|-

Sets the operator password of the admin UI at /admin: its argon2id hash is
written to DIR/admin-password. A running herald serve uses it from the next
login on, and ends the sessions made with the old one. The password is read
from the first line of FILE, or of standard input with -, never from the
command line (where ps would show it). At least 12 characters.
`

func runAdmin(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 || args[0] != "set-password" {
		fmt.Fprint(env.Stderr, adminUsage)
		return usageError{"admin: want the subcommand set-password"}
	}
	fs := flag.NewFlagSet("herald admin set-password", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() { fmt.Fprint(env.Stderr, adminUsage) }
	data := fs.String("data", config.DefaultData, "data directory (env HERALD_DATA)")
	file := fs.String("password-file", "", "file whose first line is the new password; - for standard input")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("admin set-password: unexpected argument %q", fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := env.Getenv("HERALD_DATA"); v != "" && !set["data"] {
		*data = v
	}
	if *file == "" {
		return usageError{"admin set-password: --password-file is required (- reads standard input)"}
	}
	pw, err := readPassword(*file)
	if err != nil {
		return err
	}
	if err := admin.WritePasswordFile(*data, pw); err != nil {
		return fmt.Errorf("admin set-password: %w", err)
	}
	fmt.Fprintf(env.Stdout, "admin password set in %s\n", filepath.Join(*data, admin.PasswordFile))
	return nil
}

// readPassword reads the first line of name, or of standard input for -.
func readPassword(name string) (string, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("admin set-password: %w", err)
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(io.LimitReader(r, admin.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("admin set-password: read %s: %w", name, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
