package callback

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/heraldpush/herald/internal/store"
)

// The queues callback jobs run on: drains get their own workers so that a
// slow receiver holds up only other receivers, never delivery; the sweep
// gets one worker so that it runs even while every drain waits on a
// receiver.
const (
	QueueCallbacks = "callbacks"
	QueueSweep     = "callbacks_sweep"
)

// Options tune the drainer. Zero values take the defaults in parentheses.
type Options struct {
	Workers     int           // drain jobs at once, one app each (4)
	BatchSize   int           // events per request (500)
	Interval    time.Duration // how often due events are looked for (1s)
	Timeout     time.Duration // per request, connecting included (10s)
	MaxAttempts int           // failed posts of an event before it is given up (12)
	BackoffBase time.Duration // delay after the first failure, doubled per failure (5s)
	BackoffMax  time.Duration // longest delay (1h)
	// Client posts the batches; nil builds one with NewHTTPClient(Timeout).
	Client   *http.Client
	Observer Observer // metrics; nil records nothing
	Now      func() time.Time
}

func (o *Options) defaults() {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 5 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = time.Hour
	}
	if o.Client == nil {
		o.Client = NewHTTPClient(o.Timeout)
	}
	if o.Observer == nil {
		o.Observer = noObserver{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Observer is told what the drainer did (internal/metrics implements it).
type Observer interface {
	// CallbackBatch records one request: delivered or failed, with its
	// event count, and whether it carried events already tried before.
	CallbackBatch(delivered, retry bool, events int)
	// CallbackEventsDeferred records events put back for another try.
	CallbackEventsDeferred(n int)
	// CallbackEventsGivenUp records events dropped after MaxAttempts.
	CallbackEventsGivenUp(n int)
}

type noObserver struct{}

func (noObserver) CallbackBatch(bool, bool, int) {}
func (noObserver) CallbackEventsDeferred(int)    {}
func (noObserver) CallbackEventsGivenUp(int)     {}

// drainBudget is how long one drain job keeps posting full batches before
// it ends and leaves the rest to the next sweep, so that one busy app
// cannot hold a worker for ever.
const drainBudget = 30 * time.Second

// Drainer posts the outbox's events. It is a set of River jobs the
// delivery engine's client runs (AddWorkers, Queues, PeriodicJobs).
type Drainer struct {
	st  store.Callbacks
	svc *Service
	log *slog.Logger
	o   Options
}

// NewDrainer returns the drainer over st; svc opens the apps' secrets.
func NewDrainer(st store.Callbacks, svc *Service, log *slog.Logger, o Options) *Drainer {
	o.defaults()
	return &Drainer{st: st, svc: svc, log: log, o: o}
}

// sweepArgs is the periodic job that enqueues a drain per app with due events.
type sweepArgs struct{}

func (sweepArgs) Kind() string { return "herald.callback_sweep" }

// drainArgs is one app's drain.
type drainArgs struct {
	AppID string `json:"app_id"`
}

func (drainArgs) Kind() string { return "herald.callback_drain" }

// AddWorkers registers the callback jobs' workers.
func (d *Drainer) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &sweepWorker{d: d})
	river.AddWorker(w, &drainWorker{d: d})
}

// Queues are the callback jobs' queues and their worker counts.
func (d *Drainer) Queues() map[string]river.QueueConfig {
	return map[string]river.QueueConfig{QueueCallbacks: {MaxWorkers: d.o.Workers}, QueueSweep: {MaxWorkers: 1}}
}

// PeriodicJobs is the sweep, run every Interval by the leader (one node).
func (d *Drainer) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(d.o.Interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return sweepArgs{}, &river.InsertOpts{Queue: QueueSweep, MaxAttempts: 1}
		}, &river.PeriodicJobOpts{RunOnStart: true})}
}

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	d *Drainer
}

// drainUnique keeps one drain per app waiting or running; once it has
// finished, the next sweep may enqueue another.
var drainUnique = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	apps, err := w.d.st.DueCallbackApps(ctx, w.d.o.Now(), 1000)
	if err != nil || len(apps) == 0 {
		return err
	}
	params := make([]river.InsertManyParams, len(apps))
	for i, id := range apps {
		params[i] = river.InsertManyParams{Args: drainArgs{AppID: id},
			InsertOpts: &river.InsertOpts{Queue: QueueCallbacks, MaxAttempts: 5, UniqueOpts: drainUnique}}
	}
	client, err := river.ClientFromContextSafely[*sql.Tx](ctx)
	if err != nil {
		return fmt.Errorf("callback: sweep: %w", err)
	}
	if _, err := client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("callback: sweep: enqueue %d drains: %w", len(apps), err)
	}
	return nil
}

type drainWorker struct {
	river.WorkerDefaults[drainArgs]
	d *Drainer
}

// Timeout covers a full budget of posts plus the last one.
func (w *drainWorker) Timeout(*river.Job[drainArgs]) time.Duration {
	return drainBudget + 2*w.d.o.Timeout
}

func (w *drainWorker) Work(ctx context.Context, job *river.Job[drainArgs]) error {
	return w.d.Drain(ctx, job.Args.AppID)
}

// Drain posts the app's due events, a batch at a time, until none is due,
// a post fails or the budget is spent.
func (d *Drainer) Drain(ctx context.Context, appID string) error {
	until := d.o.Now().Add(drainBudget)
	for {
		now := d.o.Now()
		evs, err := d.st.DueCallbackEvents(ctx, appID, now, d.o.BatchSize)
		if err != nil || len(evs) == 0 {
			return err
		}
		u, key, err := d.svc.open(ctx, appID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // cleared since: its events went with it
		}
		if err != nil {
			return err
		}
		body, err := encode(appID, evs)
		if err != nil {
			return fmt.Errorf("callback: encode %d events of %s: %w", len(evs), appID, err)
		}
		retry := false
		for _, e := range evs {
			retry = retry || e.Attempts > 0
		}
		a := post(ctx, d.o.Client, u, key, body, now)
		d.o.Observer.CallbackBatch(a.ok, retry, len(evs))
		if !a.ok {
			return d.failed(ctx, appID, u, evs, a)
		}
		if err := d.st.DeleteCallbackEvents(ctx, appID, ids(evs)); err != nil {
			return err
		}
		if len(evs) < d.o.BatchSize || !d.o.Now().Before(until) {
			return nil
		}
	}
}

// failed defers the batch's events, or gives up those out of attempts.
func (d *Drainer) failed(ctx context.Context, appID, u string, evs []store.CallbackEvent, a answer) error {
	now := d.o.Now()
	var giveUp []int64
	later := map[int][]int64{} // by attempts so far: one delay each
	for _, e := range evs {
		if e.Attempts+1 >= d.o.MaxAttempts {
			giveUp = append(giveUp, e.ID)
			continue
		}
		later[e.Attempts] = append(later[e.Attempts], e.ID)
	}
	host := ""
	if p, err := url.Parse(u); err == nil {
		host = p.Host
	}
	if len(giveUp) > 0 {
		if err := d.st.DeleteCallbackEvents(ctx, appID, giveUp); err != nil {
			return err
		}
		d.o.Observer.CallbackEventsGivenUp(len(giveUp))
		d.log.Warn("callback events given up", "app_id", appID, "host", host, "events", len(giveUp), "attempts", d.o.MaxAttempts, "reason", a.why)
	}
	deferred := 0
	for n, batch := range later {
		at := now.Add(max(d.backoff(n), a.retryAfter))
		if err := d.st.DeferCallbackEvents(ctx, appID, batch, at); err != nil {
			return err
		}
		deferred += len(batch)
	}
	if deferred > 0 {
		d.o.Observer.CallbackEventsDeferred(deferred)
		d.log.Info("callback failed, will retry", "app_id", appID, "host", host, "events", deferred, "reason", a.why)
	}
	return nil
}

// backoff is the delay after an event's attempt number n+1 failed:
// BackoffBase doubled per failure, capped at BackoffMax, with ±50% jitter
// so that many apps' retries after an outage do not arrive together.
func (d *Drainer) backoff(n int) time.Duration {
	b := d.o.BackoffBase << min(n, 30)
	if b <= 0 || b > d.o.BackoffMax {
		b = d.o.BackoffMax
	}
	return time.Duration(float64(b) * (0.5 + rand.Float64()))
}

func ids(evs []store.CallbackEvent) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}
