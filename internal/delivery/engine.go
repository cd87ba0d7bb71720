package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/heraldpush/herald/internal/store"
)

// Options tune the engine. Zero values take the defaults in parentheses.
type Options struct {
	BatchSize        int                   // recipients per batch job (500)
	FlushEvery       int                   // outcomes per store write (100)
	FlushInterval    time.Duration         // longest an outcome waits to be written (200ms)
	BatchConcurrency int                   // sends in flight per batch job (64)
	Workers          map[store.Channel]int // batch jobs at once per channel (4)
	FanoutWorkers    int                   // fanouts at once (2)
	// ExpressWorkers is how many batches of small messages (whole
	// audience in one batch, see express.go) run at once, beside the
	// channels' workers (32). Most are one push, so they spend their time
	// waiting on the push service.
	ExpressWorkers int
	MaxAttempts    int           // tries per recipient before it fails (8)
	BackoffBase    time.Duration // first retry delay, doubled each time (1s)
	BackoffMax     time.Duration // longest retry delay (10m)
	// PollInterval is how often the engine's queues look for jobs that no
	// wake announced: scheduled jobs coming due and other nodes' jobs. The
	// engine wakes its queues itself after committing jobs (see wake.go),
	// so a single node polls rarely (1s); several nodes poll often (25ms)
	// to share each other's jobs. Other JobSets' queues that set no
	// FetchPollInterval of their own poll every 250ms on a single node
	// (River wakes them on non-transactional inserts), 25ms otherwise.
	PollInterval time.Duration
	// SingleNode says this process is the only one working the store's jobs
	// (SQLite): jobs left running by a crash are resumed at once on Start
	// instead of after River's stuck-job rescue delay.
	SingleNode bool
	// RescueAfter is how long a job may run before another node takes it
	// over (several nodes; 2m). It must exceed the longest batch.
	RescueAfter time.Duration
	// MigrationLock, when set, is held while River's migrations are
	// applied, so that nodes starting together apply them one after the
	// other (PostgreSQL: an advisory lock); it returns the unlock. Nil
	// applies them without one (a single node).
	MigrationLock func(ctx context.Context) (unlock func(), err error)
	// Observer receives every attempt's outcome (metrics); nil records
	// nothing.
	Observer Observer
	// Tracking, when set, signs each Web Push payload for its recipient
	// ("rid", "sig"; see PayloadFor) so that the service worker's
	// received and clicked reports can be checked. Nil sends payloads
	// as they are.
	Tracking RecipientSigner
	// Jobs are other packages' River jobs (callbacks) that the engine's
	// client runs beside its own, so that one client, one leader and one
	// rescuer serve all of Herald's jobs. Their queues are their own.
	Jobs []JobSet
	Now  func() time.Time
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.BatchSize, 500)
	def(&o.FlushEvery, 100)
	def(&o.BatchConcurrency, 64)
	def(&o.FanoutWorkers, 2)
	def(&o.ExpressWorkers, 32)
	def(&o.MaxAttempts, 8)
	defD(&o.FlushInterval, 200*time.Millisecond)
	defD(&o.BackoffBase, time.Second)
	defD(&o.BackoffMax, 10*time.Minute)
	if o.SingleNode {
		defD(&o.PollInterval, time.Second)
	}
	defD(&o.PollInterval, busyPoll)
	defD(&o.RescueAfter, 2*time.Minute)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Observer == nil {
		o.Observer = noObserver{}
	}
}

// Engine runs delivery.
type Engine struct {
	store   store.Store
	db      *sql.DB
	driver  riverdriver.Driver[*sql.Tx]
	river   *river.Client[*sql.Tx]
	wake    *wakePilot
	pushers map[store.Channel]Pusher
	log     *slog.Logger
	o       Options
}

// New prepares the engine: it applies River's migrations to db (the store's
// own database) and builds the job client. Call Start to begin working.
func New(ctx context.Context, st store.Store, db *sql.DB, driver riverdriver.Driver[*sql.Tx], pushers map[store.Channel]Pusher, log *slog.Logger, o Options) (*Engine, error) {
	o.defaults()
	wd := newWakeDriver(driver, o.SingleNode)
	e := &Engine{store: st, db: db, driver: driver, wake: wd.pilot, pushers: pushers, log: log, o: o}
	err := migrateJobs(ctx, driver, log, o.MigrationLock)
	if err != nil {
		return nil, fmt.Errorf("delivery: job migrations: %w", err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &fanoutWorker{e: e})
	river.AddWorker(workers, &deliverWorker{e: e})
	var periodic []*river.PeriodicJob
	for _, js := range o.Jobs {
		js.AddWorkers(workers)
		periodic = append(periodic, js.PeriodicJobs()...)
	}
	poll := o.PollInterval
	queues := map[string]river.QueueConfig{
		queueFanout:  {MaxWorkers: o.FanoutWorkers, FetchPollInterval: poll},
		queuePaced:   {MaxWorkers: 16, FetchPollInterval: poll},
		queueExpress: {MaxWorkers: o.ExpressWorkers, FetchPollInterval: poll},
	}
	for _, ch := range []store.Channel{store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs} {
		n := o.Workers[ch]
		if n <= 0 {
			n = 4
		}
		queues[string(ch)] = river.QueueConfig{MaxWorkers: n, FetchPollInterval: poll}
	}
	for _, js := range o.Jobs {
		maps.Copy(queues, js.Queues())
	}
	e.river, err = river.NewClient[*sql.Tx](wd, &river.Config{
		Queues:                      queues,
		PeriodicJobs:                periodic,
		Workers:                     workers,
		FetchPollInterval:           jobSetPoll(o.SingleNode),
		FetchCooldown:               fetchCooldown,
		JobTimeout:                  o.RescueAfter / 2,
		RescueStuckJobsAfter:        o.RescueAfter,
		MaxAttempts:                 25,
		Logger:                      quiet(log),
		CompletedJobRetentionPeriod: time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: job client: %w", err)
	}
	return e, nil
}

// busyPoll is how often queues poll when jobs may appear without a wake
// (other JobSets' queues; every queue with several nodes), and
// fetchCooldown the shortest gap between two fetches of one queue, which
// bounds how soon a wake after a fetch is served.
const (
	busyPoll      = 25 * time.Millisecond
	fetchCooldown = 5 * time.Millisecond
)

// jobSetPoll is the poll interval of other JobSets' queues: a single node
// polls them less, since every empty poll parses and runs River's fetch
// query (the callback sweep, inserted by River's periodic enqueuer without
// a wake, waits for it).
func jobSetPoll(singleNode bool) time.Duration {
	if singleNode {
		return 250 * time.Millisecond
	}
	return busyPoll
}

// JobSet is a set of River jobs another package runs on the engine's
// client: its workers, its queues (names distinct from the engine's) and
// its periodic jobs (run by the leader only).
type JobSet interface {
	AddWorkers(w *river.Workers)
	Queues() map[string]river.QueueConfig
	PeriodicJobs() []*river.PeriodicJob
}

// migrateJobs applies River's migrations to db, holding lock if there is
// one, so that a second node waits and then finds them applied. (They
// cannot all run in one transaction: a later one uses an enum value an
// earlier one adds.)
func migrateJobs(ctx context.Context, driver riverdriver.Driver[*sql.Tx], log *slog.Logger, lock func(context.Context) (func(), error)) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quiet(log)})
	if err != nil {
		return err
	}
	if lock != nil {
		unlock, err := lock(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// quiet passes River's own logs through at warning level and above.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{log.Handler(), slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// Start begins working jobs until Stop.
func (e *Engine) Start(ctx context.Context) error {
	if e.o.SingleNode {
		// Only this process works these jobs, so a job still marked running
		// was cut off by a crash: make it available again now.
		res, err := e.db.ExecContext(ctx, "UPDATE river_job SET state = 'available' WHERE state = 'running'")
		if err != nil {
			return fmt.Errorf("delivery: resume interrupted jobs: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			e.log.Info("resuming jobs interrupted by a crash", "jobs", n)
		}
	}
	if err := e.river.Start(ctx); err != nil {
		return fmt.Errorf("delivery: start: %w", err)
	}
	return nil
}

// Stop lets running batches finish (until ctx is done), then cancels them.
// Cancelled batches keep their recorded outcomes and resume on restart.
func (e *Engine) Stop(ctx context.Context) error {
	err := e.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = e.river.StopAndCancel(cctx)
	}
	if err != nil {
		return fmt.Errorf("delivery: stop: %w", err)
	}
	return nil
}

// Submit stores m (state queued, or scheduled when SendAt is in the future)
// and its fanout job in one transaction. A message sent now to a few
// listed registration ids or aliases is resolved here instead, and
// stored with its batch jobs on the express queue (express.go). When
// m.DedupID repeats one of the app's earlier messages, nothing is stored
// and that message is returned with created false.
func (e *Engine) Submit(ctx context.Context, m store.Message) (store.Message, bool, error) {
	now := e.o.Now().UTC().Truncate(time.Millisecond)
	m.CreatedAt = now
	if m.SendAt.IsZero() || m.SendAt.Before(now) {
		m.SendAt = now
	}
	m.State = store.StateQueued
	m.FanoutDone, m.FanoutCursor, m.Targeted = false, 0, 0
	var opts river.InsertOpts
	opts.Queue = queueFanout
	if m.SendAt.After(now) {
		m.State = store.StateScheduled
		opts.ScheduledAt = m.SendAt
	}
	enqueue := func(ctx context.Context, tx *sql.Tx, id int64) error {
		_, err := e.river.InsertTx(ctx, tx, fanoutArgs{AppID: m.AppID, MessageID: id}, &opts)
		return err
	}
	wake := []string{queueFanout}
	if page := e.resolveSmall(ctx, m); page != nil {
		m.FanoutDone, m.FanoutCursor, m.Targeted = true, page[len(page)-1].ID, int64(len(page))
		enqueue = func(ctx context.Context, tx *sql.Tx, id int64) error {
			m.ID = id
			return e.enqueueExpress(ctx, tx, m, page)
		}
		wake = []string{queueExpress}
	}
	msg, created, err := e.store.CreateMessage(ctx, m, enqueue)
	if err != nil {
		return store.Message{}, false, fmt.Errorf("delivery: submit: %w", err)
	}
	e.o.Observer.Message(!created)
	if created && msg.State != store.StateScheduled {
		e.wake.wake(ctx, wake...) // committed: the fanout or the batches can start now
	}
	return msg, created, nil
}

// Cancel stops a message that has not started sending, or a local-time
// message until it is done: its batches not yet due then find it
// cancelled and send nothing, while recipients already sent keep their
// outcomes.
func (e *Engine) Cancel(ctx context.Context, appID string, id int64) (store.Message, error) {
	from := []store.MessageState{store.StateScheduled, store.StateQueued}
	if m, err := e.store.Message(ctx, appID, id); err == nil && m.LocalTime != "" {
		from = append(from, store.StateSending)
	}
	m, err := e.store.SetMessageState(ctx, appID, id, from, store.StateCancelled, nil)
	if err != nil {
		return m, fmt.Errorf("delivery: cancel %d: %w", id, err)
	}
	return m, nil
}

// backoff is the delay before retry number attempt+1: BackoffBase doubled
// per attempt, capped at BackoffMax, with ±50% jitter so a push service
// that failed many requests at once is not hit by all of them again at once.
func (e *Engine) backoff(attempt int) time.Duration {
	d := e.o.BackoffBase << min(attempt, 30)
	if d <= 0 || d > e.o.BackoffMax {
		d = e.o.BackoffMax
	}
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}
