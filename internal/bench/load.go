package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// ErrLimited is what a Load request returns when the server refused it
// for a rate limit (HTTP 429): counted apart from errors.
var ErrLimited = errors.New("rate limited")

// LoadOptions configure [Load].
type LoadOptions struct {
	// Name names the workload in the result.
	Name string
	// Concurrency is how many requests are in flight at once (8).
	Concurrency int
	// Duration bounds the run (5s); Requests, if above 0, bounds it too.
	Duration time.Duration
	Requests int
	// Do makes request number i (0, 1, …) from worker w and returns nil
	// when the server accepted it, ErrLimited (wrapped or not) when it
	// answered 429, any other error otherwise.
	Do func(ctx context.Context, w, i int) error
	// Progress shows a bar when Requests is set; nil shows none.
	Progress io.Writer
	Terminal bool
}

// LoadResult is one workload's figures: accepted requests per second and
// the latency of accepted requests.
type LoadResult struct {
	Name        string  `json:"name"`
	Concurrency int     `json:"concurrency"`
	Accepted    int64   `json:"accepted"`
	Limited     int64   `json:"limited"` // answered 429
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"` // accepted / seconds
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
}

// Load runs o.Do from o.Concurrency workers until o.Duration has passed or
// o.Requests were made, and measures it.
func Load(ctx context.Context, o LoadOptions) LoadResult {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	r := LoadResult{Name: o.Name, Concurrency: o.Concurrency}
	var (
		next            atomic.Int64
		accepted, limit atomic.Int64
		failed          atomic.Int64
		firstErr        sync.Once
		h               histogram
	)
	var bar *progress
	if o.Requests > 0 {
		bar = newProgress(o.Progress, o.Terminal, o.Name, o.Requests)
	}
	start := time.Now()
	end := start.Add(o.Duration)
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		wg.Go(func() {
			// Requests in flight at the end run to completion: cutting
			// them short would count the server's work as errors.
			for ctx.Err() == nil && time.Now().Before(end) {
				i := int(next.Add(1) - 1)
				if o.Requests > 0 && i >= o.Requests {
					return
				}
				t0 := time.Now()
				err := o.Do(ctx, w, i)
				d := time.Since(t0)
				switch {
				case err == nil:
					n := accepted.Add(1)
					h.record(d)
					if bar != nil && w == 0 {
						bar.update(int(n))
					}
				case errors.Is(err, ErrLimited):
					limit.Add(1)
				case ctx.Err() != nil:
					return // the caller stopped the run
				default:
					failed.Add(1)
					firstErr.Do(func() { r.FirstError = err.Error() })
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if bar != nil {
		bar.finish(int(accepted.Load()))
	}
	r.Accepted, r.Limited, r.Errors = accepted.Load(), limit.Load(), failed.Load()
	r.Seconds = round2(elapsed.Seconds())
	if elapsed > 0 {
		r.PerSecond = round1(float64(r.Accepted) / elapsed.Seconds())
	}
	r.P50ms, r.P99ms, r.MaxMs = ms(h.quantile(0.5)), ms(h.quantile(0.99)), ms(time.Duration(h.max.Load()))
	return r
}

// APIResult is what `herald bench api` measured.
type APIResult struct {
	Kind      string       `json:"kind"` // "api"
	Apps      int          `json:"apps"`
	Workloads []LoadResult `json:"workloads"`
	// FanoutDoneSeconds is how long after the last send the last of the
	// sent messages was done: the fanout keeping up with the API.
	FanoutDoneSeconds float64 `json:"fanout_done_seconds"`
	MessagesSent      int64   `json:"messages_sent"`
	MessagesDone      int64   `json:"messages_done"`
	// MessagesPerSecond is MessagesDone over the time from the first send
	// to the last message done: the engine's rate, which the API's bounds
	// when the engine keeps up.
	MessagesPerSecond float64   `json:"messages_per_second"`
	StartedAt         time.Time `json:"started_at"`
	CPUs              int       `json:"cpus"`
	GoVersion         string    `json:"go_version"`
	LoadAvg           string    `json:"load_avg"`
}

// WriteTable writes r for people.
func (r APIResult) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "herald bench api: %d apps, %d CPUs, %s, load %s\n", r.Apps, r.CPUs, r.GoVersion, r.LoadAvg)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tclients\taccepted\tper second\tp50 ms\tp99 ms\tmax ms\t429\terrors\t")
	for _, l := range r.Workloads {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.1f\t%.1f\t%.1f\t%d\t%d\t\n", l.Name, l.Concurrency, thousands(l.Accepted),
			thousands(int64(l.PerSecond)), l.P50ms, l.P99ms, l.MaxMs, l.Limited, l.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range r.Workloads {
		if l.FirstError != "" {
			fmt.Fprintf(w, "%s: first error: %s\n", l.Name, l.FirstError)
		}
	}
	_, err := fmt.Fprintf(w, "fanout: %d of %d sent messages done, the last %.2f s after the last send; %s messages/s through the engine from the first send\n",
		r.MessagesDone, r.MessagesSent, r.FanoutDoneSeconds, thousands(int64(r.MessagesPerSecond)))
	return err
}

// LoadAvgNow is the machine's 1/5/15-minute load average, for a result.
func LoadAvgNow() string { return loadAvg() }
