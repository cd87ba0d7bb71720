package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/heraldpush/herald/internal/testpush"
)

// WebPushOptions configure [WebPush]. Zero values take the defaults in
// parentheses.
type WebPushOptions struct {
	// Subscribers is how many recipients the one message has (required).
	Subscribers int
	// Verify is how much testpush checks: VerifyAll (the zero value)
	// verifies every VAPID JWT and decrypts every payload; VerifySample
	// decrypts one in SampleEvery (100) and verifies each JWT once.
	Verify      testpush.VerifyMode
	SampleEvery int
	// HTTP is the protocol Herald speaks to testpush over TLS: 1 for
	// HTTP/1.1, 2 for HTTP/2 (2, what Go negotiates with real push
	// services).
	HTTP int
	// PushServer is testpush's HTTP/2 server: "lean" (the default: its
	// own, a few µs of CPU per push) or "std" (net/http's, as before the
	// lean one; for comparison). Ignored with HTTP 1.
	PushServer string
	// CryptoDuration is how long each half of the crypto measurement run
	// before the send lasts, to put the rate in proportion (1s); negative
	// skips it.
	CryptoDuration time.Duration
	// Probes is how many single-recipient messages are sent one after the
	// other once the big send is done, to measure accept→push latency on an
	// idle engine (20); negative skips them.
	Probes int
	// BusyProbes is how many single-recipient messages are sent one after
	// the other while the big send runs (a quarter second apart, until 90%
	// of its pushes are out), to measure accept→push latency under load
	// (20); negative skips them.
	BusyProbes int
	// Timeout bounds the send (30m).
	Timeout time.Duration
	// Store is the store to run on: "" for SQLite in a temporary data
	// directory, or a postgres:// URL (the run adds its own app there).
	Store string
	// Nodes is how many delivery engines share the send (1); more than
	// one needs a postgres:// Store. Each has its own connection pool and
	// job client, as one `herald serve` process has.
	Nodes int
	// TempDir is where the temporary data directory goes ("": os.TempDir).
	TempDir string
	// Progress receives the progress bar; nil shows none. Terminal says it
	// is a terminal, where the bar is redrawn in place.
	Progress io.Writer
	Terminal bool
	// CPUProfile, if set, receives a CPU profile of the send (from just
	// before Send until the message is done).
	CPUProfile io.Writer
	// Log receives the engine's and testpush's logs (nil discards).
	Log *slog.Logger
}

func (o *WebPushOptions) defaults() error {
	if o.Subscribers <= 0 {
		return errors.New("bench: want at least 1 subscriber")
	}
	if o.Subscribers > testpush.MaxSubscriptions-1 {
		return fmt.Errorf("bench: at most %d subscribers", testpush.MaxSubscriptions-1)
	}
	if o.Verify != testpush.VerifyAll && o.Verify != testpush.VerifySample {
		return fmt.Errorf("bench: unknown verify mode %d", o.Verify)
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = testpush.DefaultSampleEvery
	}
	if o.Nodes == 0 {
		o.Nodes = 1
	}
	if o.Nodes < 1 || (o.Store == "" && o.Nodes > 1) {
		return fmt.Errorf("bench: %d nodes: want 1, or several on a postgres:// store", o.Nodes)
	}
	if o.HTTP == 0 {
		o.HTTP = 2
	}
	if o.HTTP != 1 && o.HTTP != 2 {
		return fmt.Errorf("bench: HTTP version %d: want 1 or 2", o.HTTP)
	}
	if o.PushServer == "" {
		o.PushServer = "lean"
	}
	if o.PushServer != "lean" && o.PushServer != "std" {
		return fmt.Errorf("bench: push server %q: want lean or std", o.PushServer)
	}
	if o.CryptoDuration == 0 {
		o.CryptoDuration = time.Second
	}
	if o.Probes == 0 {
		o.Probes = 20
	}
	if o.BusyProbes == 0 {
		o.BusyProbes = 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// WebPushResult is what [WebPush] measured. The first seven fields are
// the fixed surface of `herald bench webpush --json`.
type WebPushResult struct {
	Subscribers int     `json:"subscribers"`
	Delivered   int     `json:"delivered"`   // subscriptions that got the push, each counted once
	Seconds     float64 `json:"seconds"`     // message accepted → last push accepted by testpush
	PerSecond   float64 `json:"per_second"`  // delivered / seconds
	P50ms       float64 `json:"p50_ms"`      // push accepted − message accepted, median
	P99ms       float64 `json:"p99_ms"`      // … 99th percentile
	PeakRSSMB   float64 `json:"peak_rss_mb"` // VmHWM during the send (see PeakRSSScope)
	Nodes       int     `json:"nodes"`       // delivery engines sharing the send
	Store       string  `json:"store"`       // "sqlite" or "postgres"

	Kind         string    `json:"kind"` // "webpush"
	OK           bool      `json:"ok"`   // every push accounted for
	Problems     []string  `json:"problems,omitempty"`
	Verify       string    `json:"verify"` // "all" or "sample"
	SampleEvery  int       `json:"sample_every,omitempty"`
	HTTP         string    `json:"http"`        // "1.1" or "2", over TLS
	PushServer   string    `json:"push_server"` // testpush's HTTP/2 server: "lean" or "std"
	PayloadBytes int       `json:"payload_bytes"`
	MessageID    int64     `json:"message_id"`
	StartedAt    time.Time `json:"started_at"`
	CPUs         int       `json:"cpus"`
	GOMAXPROCS   int       `json:"gomaxprocs"`
	GoVersion    string    `json:"go_version"`
	LoadAvg      string    `json:"load_avg"` // 1/5/15-minute load before the run
	LoadAvgAfter string    `json:"load_avg_after"`

	SetupSeconds float64           `json:"setup_seconds"` // inserting the subscribers, not timed
	SubmitMs     float64           `json:"submit_ms"`     // send.Service.Send: validate, store, enqueue
	FirstPushMs  float64           `json:"first_push_ms"` // message accepted → first push accepted
	DoneSeconds  float64           `json:"done_seconds"`  // message accepted → message state done
	P90ms        float64           `json:"p90_ms"`        //
	MaxMs        float64           `json:"max_ms"`        //
	PushesTotal  uint64            `json:"pushes_total"`  // pushes testpush accepted, duplicates included
	Duplicates   int               `json:"duplicates"`    // pushes beyond the first per subscription
	Missing      int               `json:"missing"`       // subscriptions that got nothing
	Decrypted    uint64            `json:"decrypted"`     // payloads testpush decrypted
	Requests     uint64            `json:"requests"`      // push requests testpush received
	Rejected     map[string]uint64 `json:"rejected,omitempty"`
	Message      Counters          `json:"message"` // the message's final state and counters

	PeakRSSScope    string  `json:"peak_rss_scope"` // "send" (reset after setup) or "process"
	SetupPeakRSSMB  float64 `json:"setup_peak_rss_mb"`
	RSSBeforeSendMB float64 `json:"rss_before_send_mb"`
	RSSMinSendMB    float64 `json:"rss_min_send_mb"` // sampled during the send
	RSSMaxSendMB    float64 `json:"rss_max_send_mb"`
	RSSAfterMB      float64 `json:"rss_after_mb"`
	// RSSByTenth and GoHeapByTenth are RSS and the Go heap in use (MB)
	// when each tenth of the pushes had been accepted: flat, or growing
	// with the audience.
	RSSByTenth    []float64 `json:"rss_mb_by_tenth"`
	GoHeapByTenth []float64 `json:"go_heap_mb_by_tenth"`
	HeapAfterMB   float64   `json:"heap_after_mb"`

	// CPU time the process used from Send until the message was done,
	// Herald and testpush together: a figure the machine's load does not
	// skew the way it skews wall-clock rates.
	CPUSeconds   float64 `json:"cpu_seconds"`
	CPUUsPerPush float64 `json:"cpu_us_per_push"`
	CPUPressure  string  `json:"cpu_pressure,omitempty"` // /proc/pressure/cpu some avg10 at the end

	// With a CPU profile, the send's profiled CPU split by goroutine
	// label: Herald, testpush, and the runtime's own (GC workers), which
	// HeraldCPUUsPerPush shares out in proportion. HeraldFractionOfCrypto
	// is the crypto floor over Herald's CPU per push: the share of the
	// all-core crypto rate Herald alone would reach with every core to
	// itself, the figure the 60% target is about.
	HeraldCPUSeconds       float64 `json:"herald_cpu_seconds,omitempty"`
	TestpushCPUSeconds     float64 `json:"testpush_cpu_seconds,omitempty"`
	RuntimeCPUSeconds      float64 `json:"runtime_cpu_seconds,omitempty"`
	HeraldCPUUsPerPush     float64 `json:"herald_cpu_us_per_push,omitempty"`
	HeraldFractionOfCrypto float64 `json:"herald_fraction_of_crypto,omitempty"`

	CryptoPerSecondOneCore float64 `json:"crypto_per_second_one_core,omitempty"`
	CryptoPerCPUSecond     float64 `json:"crypto_per_cpu_second,omitempty"`
	// FractionOfCryptoCPU is the crypto floor's share of the CPU each push
	// cost: crypto µs per push / cpu_us_per_push.
	FractionOfCryptoCPU     float64 `json:"fraction_of_crypto_cpu,omitempty"`
	CryptoPerSecondAllCores float64 `json:"crypto_per_second_all_cores,omitempty"`
	FractionOfCrypto        float64 `json:"fraction_of_crypto,omitempty"` // per_second / crypto all cores

	Probes     int     `json:"probes,omitempty"` // single-recipient sends on the idle engine
	ProbeP50ms float64 `json:"probe_p50_ms,omitempty"`
	ProbeP99ms float64 `json:"probe_p99_ms,omitempty"`
	ProbeMaxMs float64 `json:"probe_max_ms,omitempty"`

	// BusyProbes are single-recipient sends made while the big send runs;
	// their latency is message accepted → Herald has the push service's
	// answer (an instrumented Pusher), since testpush's acceptance times
	// do not say which push they were.
	BusyProbes     int     `json:"busy_probes,omitempty"`
	BusyProbeP50ms float64 `json:"busy_probe_p50_ms,omitempty"`
	BusyProbeP99ms float64 `json:"busy_probe_p99_ms,omitempty"`
	BusyProbeMaxMs float64 `json:"busy_probe_max_ms,omitempty"`
}

// Counters are the message's final state and counters, as GET
// /v1/messages/{id} shows them.
type Counters struct {
	State         string           `json:"state"`
	Targeted      int64            `json:"targeted"`
	Sent          int64            `json:"sent"`
	Failed        int64            `json:"failed"`
	Pruned        int64            `json:"pruned"`
	Expired       int64            `json:"expired"`
	FailedReasons map[string]int64 `json:"failed_reasons,omitempty"`
}

// ErrUnaccounted is returned (wrapped) when a run finished but some push
// was missing, duplicated, rejected or not counted as sent.
var ErrUnaccounted = errors.New("bench: not every push was accounted for")

// WebPush runs one Web Push benchmark (see the package comment). It
// returns the result even with ErrUnaccounted, so a failed run can still
// be reported.
func WebPush(ctx context.Context, o WebPushOptions) (WebPushResult, error) {
	if err := o.defaults(); err != nil {
		return WebPushResult{}, err
	}
	r := WebPushResult{Kind: "webpush", Subscribers: o.Subscribers, Verify: "all", HTTP: "2", Nodes: o.Nodes, Store: "sqlite",
		StartedAt: time.Now().UTC().Truncate(time.Second), CPUs: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), LoadAvg: loadAvg()}
	if o.Verify == testpush.VerifySample {
		r.Verify, r.SampleEvery = "sample", o.SampleEvery
	}
	r.PushServer = o.PushServer
	if o.HTTP == 1 {
		r.HTTP = "1.1"
	}
	if o.Store != "" {
		r.Store = "postgres"
	}
	if o.CryptoDuration > 0 {
		c, err := Crypto(ctx, o.CryptoDuration)
		if err != nil {
			return r, err
		}
		r.CryptoPerSecondOneCore, r.CryptoPerSecondAllCores = c.PerSecondOneCore, c.PerSecondAllCores
		r.CryptoPerCPUSecond = c.PerCPUSecond
	}
	var err error
	pprof.Do(ctx, pprof.Labels("side", "bench"), func(ctx context.Context) {
		err = runWebPush(ctx, o, &r)
	})
	return r, err
}

func runWebPush(ctx context.Context, o WebPushOptions, r *WebPushResult) (err error) {
	rn, err := startRun(ctx, o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rn.close()) }()
	start := time.Now()
	if err := rn.setup(ctx); err != nil {
		return err
	}
	r.SetupSeconds = round2(time.Since(start).Seconds())
	if err := rn.send(ctx, r); err != nil {
		return err
	}
	rn.verify(r)
	if o.Probes > 0 {
		if err := rn.probe(ctx, r); err != nil {
			return err
		}
	}
	r.LoadAvgAfter = loadAvg()
	if !r.OK {
		return ErrUnaccounted
	}
	return nil
}

// collector receives testpush's OnAccept calls.
type collector struct {
	hist  histogram
	base  atomic.Int64 // unix ns the latencies are measured from
	first atomic.Int64 // unix ns of the earliest accepted push
	last  atomic.Int64 // unix ns of the latest accepted push
}

func newCollector() *collector {
	c := &collector{}
	c.first.Store(math.MaxInt64)
	return c
}

func (c *collector) accept(at time.Time) {
	v := at.UnixNano()
	c.hist.record(time.Duration(v - c.base.Load()))
	for {
		f := c.first.Load()
		if v >= f || c.first.CompareAndSwap(f, v) {
			break
		}
	}
	for {
		l := c.last.Load()
		if v <= l || c.last.CompareAndSwap(l, v) {
			break
		}
	}
}

// run is one WebPush run's pieces.
type run struct {
	o       WebPushOptions
	dir     string
	col     *collector
	tp      *testpush.Server
	h       *herald
	appID   string
	ids     *idSet
	probeTo probeTarget
}

func startRun(ctx context.Context, o WebPushOptions) (_ *run, err error) {
	rn := &run{o: o, col: newCollector()}
	if rn.dir, err = os.MkdirTemp(o.TempDir, "herald-bench-"); err != nil {
		return nil, fmt.Errorf("bench: data dir: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, rn.close())
		}
	}()
	pprof.Do(ctx, pprof.Labels("side", "testpush"), func(context.Context) {
		rn.tp, err = testpush.Start(testpush.Options{TLS: true, Verify: o.Verify, SampleEvery: o.SampleEvery,
			StdHTTP2: o.PushServer == "std", Logger: o.Log, OnAccept: rn.col.accept})
	})
	if err != nil {
		return nil, err
	}
	pprof.Do(ctx, pprof.Labels("side", "herald"), func(ctx context.Context) {
		rn.h, err = startHerald(ctx, rn.dir, o.Store, o.Nodes, rn.tp, o.HTTP, o.Log)
	})
	if err != nil {
		return nil, err
	}
	return rn, nil
}

func (rn *run) close() error {
	var errs []error
	if rn.h != nil {
		errs = append(errs, rn.h.close())
	}
	if rn.tp != nil {
		errs = append(errs, rn.tp.Close())
	}
	errs = append(errs, os.RemoveAll(rn.dir))
	return errors.Join(errs...)
}

// setup inserts the subscribers of the big send and the probe's, untimed.
func (rn *run) setup(ctx context.Context) error {
	p := newProgress(rn.o.Progress, rn.o.Terminal, "insert", rn.o.Subscribers)
	appID, ids, err := rn.h.populate(ctx, rn.tp, "bench", rn.o.Subscribers, p.update)
	if err != nil {
		return err
	}
	p.finish(ids.len())
	rn.appID, rn.ids = appID, ids
	if rn.o.Probes > 0 || rn.o.BusyProbes > 0 {
		return rn.setupProbe(ctx)
	}
	return nil
}
