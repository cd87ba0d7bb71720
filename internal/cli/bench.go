package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/bench"
	"github.com/heraldpush/herald/internal/testpush"
)

// defaultResults is where bench runs leave their JSON.
const defaultResults = "bench-results"

// runBench is `herald bench webpush|crypto`: see internal/bench.
func runBench(ctx context.Context, args []string, env Env) error {
	tuneGC(env.Getenv)
	if len(args) == 0 {
		return usageError{"bench: want a kind: webpush, crypto, audience, api, growth, fcm or apns"}
	}
	switch args[0] {
	case "webpush":
		return benchWebPush(ctx, args[1:], env)
	case "crypto":
		return benchCrypto(ctx, args[1:], env)
	case "audience":
		return benchAudience(ctx, args[1:], env)
	case "api":
		return benchAPI(ctx, args[1:], env)
	case "growth":
		return benchGrowth(ctx, args[1:], env)
	case "fcm", "apns":
		return benchChannel(ctx, args[0], args[1:], env)
	}
	return usageError{fmt.Sprintf("bench: unknown kind %q: want webpush, crypto, audience, api, growth, fcm or apns", args[0])}
}

// benchFlags are what every bench kind takes.
type benchFlags struct {
	asJSON  bool
	results string
}

func (b *benchFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&b.asJSON, "json", false, "print the result as one JSON object instead of a table (the table goes to stderr)")
	fs.StringVar(&b.results, "results", defaultResults, `directory that keeps each run's JSON, named KIND-TIMESTAMP.json ("" keeps none)`)
}

func benchWebPush(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("herald bench webpush", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var bf benchFlags
	bf.register(fs)
	var o bench.WebPushOptions
	fs.IntVar(&o.Subscribers, "subscribers", 0, "recipients of the one message (required)")
	verify := fs.String("verify", "all", "what testpush checks: all (every JWT verified, every payload decrypted) or sample")
	fs.IntVar(&o.SampleEvery, "sample-every", testpush.DefaultSampleEvery, "with --verify sample, decrypt one payload in this many")
	fs.IntVar(&o.HTTP, "http", 2, "protocol to testpush, over TLS: 1 (HTTP/1.1) or 2 (HTTP/2)")
	fs.StringVar(&o.PushServer, "push-server", "lean", "testpush's HTTP/2 server: lean (its own, a few µs of CPU per push) or std (net/http's, for comparison)")
	cryptoSecs := fs.Float64("crypto-seconds", 1, "length of each half of the crypto measurement run first (0 skips it)")
	fs.IntVar(&o.Probes, "probes", 20, "one-recipient sends after the big one, for accept→push latency when idle (0 skips them)")
	fs.IntVar(&o.BusyProbes, "busy-probes", 20, "one-recipient sends during the big one, a quarter second apart, for accept→push latency under load (0 skips them)")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "longest the send may take")
	fs.StringVar(&o.Store, "store", "", "store: empty for SQLite in a temporary directory, or a postgres:// URL of a database for benchmarks (it gets an app of its own and N subscribers; HERALD_STORE is not read, so a bench never lands in a production store)")
	fs.IntVar(&o.Nodes, "nodes", 1, "delivery engines sharing the send, each as one herald serve process (more than 1 needs --store postgres://…)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the send to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("bench webpush: unexpected argument %q", fs.Arg(0))}
	}
	if o.Subscribers <= 0 {
		return usageError{"bench webpush: --subscribers N is required"}
	}
	if o.Nodes < 1 || (o.Store == "" && o.Nodes > 1) {
		return usageError{fmt.Sprintf("bench webpush: --nodes %d: want 1, or several with --store postgres://…", o.Nodes)}
	}
	switch *verify {
	case "all":
		o.Verify = testpush.VerifyAll
	case "sample":
		o.Verify = testpush.VerifySample
	default:
		return usageError{fmt.Sprintf("bench webpush: --verify %q: want sample or all", *verify)}
	}
	if o.HTTP != 1 && o.HTTP != 2 {
		return usageError{fmt.Sprintf("bench webpush: --http %d: want 1 or 2", o.HTTP)}
	}
	if o.PushServer != "lean" && o.PushServer != "std" {
		return usageError{fmt.Sprintf("bench webpush: --push-server %q: want lean or std", o.PushServer)}
	}
	o.CryptoDuration = negativeIfZero(time.Duration(*cryptoSecs * float64(time.Second)))
	if o.Probes == 0 {
		o.Probes = -1
	}
	if o.BusyProbes == 0 {
		o.BusyProbes = -1
	}
	o.Progress, o.Terminal = env.Stderr, isTerminal(env.Stderr)
	o.Log = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench webpush: %w", err)
		}
		defer f.Close()
		o.CPUProfile = f
	}
	r, err := bench.WebPush(ctx, o)
	if err != nil && !errors.Is(err, bench.ErrUnaccounted) {
		return err
	}
	if perr := report(env, bf, "webpush", r, r.StartedAt, r.WriteTable); perr != nil {
		return errors.Join(err, perr)
	}
	return err
}

func benchAudience(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("herald bench audience", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var bf benchFlags
	bf.register(fs)
	var o bench.AudienceOptions
	fs.IntVar(&o.Subscribers, "subscribers", 0, "size of the generated population (required)")
	fs.IntVar(&o.Repeats, "repeats", 3, "runs of each expression; the median is reported")
	fs.StringVar(&o.Store, "store", "", "store: empty for SQLite in a temporary directory, or a postgres:// URL of an empty database (or of one holding a population of this size, which is reused)")
	fs.StringVar(&o.DB, "db", "", "SQLite file to keep the population in; a later run of the same size reuses it")
	only := fs.String("only", "", "comma-separated names of the expressions to measure (default all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("bench audience: unexpected argument %q", fs.Arg(0))}
	}
	if o.DB != "" && o.Store != "" {
		return usageError{"bench audience: --db is for SQLite, --store for PostgreSQL: give one"}
	}
	if o.Subscribers <= 0 {
		return usageError{"bench audience: --subscribers N is required"}
	}
	if o.Repeats <= 0 {
		return usageError{"bench audience: --repeats must be at least 1"}
	}
	o.Progress, o.Terminal = env.Stderr, isTerminal(env.Stderr)
	r, err := bench.Audience(ctx, o)
	if err != nil {
		return err
	}
	return report(env, bf, "audience", r, r.StartedAt, r.WriteTable)
}

func benchGrowth(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("herald bench growth", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var bf benchFlags
	bf.register(fs)
	sizes := fs.String("sizes", "10000,100000,1000000", "audience sizes, comma-separated, one send each")
	verify := fs.String("verify", "sample", "what testpush checks: all or sample")
	var o bench.GrowthOptions
	fs.IntVar(&o.Run.HTTP, "http", 2, "protocol to testpush, over TLS: 1 or 2")
	cryptoSecs := fs.Float64("crypto-seconds", 1, "length of each half of the crypto measurement before each send (0 skips it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("bench growth: unexpected argument %q", fs.Arg(0))}
	}
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return usageError{fmt.Sprintf("bench growth: --sizes: %q is not a positive number", f)}
		}
		o.Sizes = append(o.Sizes, n)
	}
	switch *verify {
	case "all":
		o.Run.Verify = testpush.VerifyAll
	case "sample":
		o.Run.Verify = testpush.VerifySample
	default:
		return usageError{fmt.Sprintf("bench growth: --verify %q: want sample or all", *verify)}
	}
	if o.Run.HTTP != 1 && o.Run.HTTP != 2 {
		return usageError{fmt.Sprintf("bench growth: --http %d: want 1 or 2", o.Run.HTTP)}
	}
	o.Run.CryptoDuration = negativeIfZero(time.Duration(*cryptoSecs * float64(time.Second)))
	o.Run.Probes, o.Run.BusyProbes = -1, -1
	o.Run.Progress, o.Run.Terminal = env.Stderr, isTerminal(env.Stderr)
	o.Run.Log = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := bench.Growth(ctx, o)
	if err != nil {
		return err
	}
	if err := report(env, bf, "growth", r, r.StartedAt, r.WriteTable); err != nil {
		return err
	}
	if !r.OK {
		return bench.ErrUnaccounted
	}
	return nil
}

func benchCrypto(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("herald bench crypto", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var bf benchFlags
	bf.register(fs)
	secs := fs.Float64("seconds", 3, "length of each of the two measurements (one core, all cores)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("bench crypto: unexpected argument %q", fs.Arg(0))}
	}
	if *secs <= 0 {
		return usageError{"bench crypto: --seconds must be above 0"}
	}
	r, err := bench.Crypto(ctx, time.Duration(*secs*float64(time.Second)))
	if err != nil {
		return err
	}
	return report(env, bf, "crypto", r, r.StartedAt, r.WriteTable)
}

// report prints v as JSON or as its table, and keeps its JSON in the
// results directory.
func report(env Env, bf benchFlags, kind string, v any, at time.Time, table func(io.Writer) error) error {
	if bf.results != "" {
		path, err := bench.SaveResult(bf.results, kind, v, at)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stderr, "result saved in", path)
		if p, ok := v.(interface{ SVG() []byte }); ok {
			svg := strings.TrimSuffix(path, ".json") + ".svg"
			if err := os.WriteFile(svg, p.SVG(), 0o644); err != nil {
				return fmt.Errorf("bench: save plot: %w", err)
			}
			fmt.Fprintln(env.Stderr, "plot saved in", svg)
		}
	}
	if !bf.asJSON {
		return table(env.Stdout)
	}
	if err := table(env.Stderr); err != nil {
		return err
	}
	return json.NewEncoder(env.Stdout).Encode(v)
}

func negativeIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// isTerminal says whether w is a character device (a terminal), where a
// progress bar may redraw itself.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
