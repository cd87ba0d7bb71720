package importer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

// Defaults, with their reasons.
const (
	// DefaultBatch rows go in one transaction. A commit writes every page
	// the transaction touched, and rows with random tokens touch a page of
	// the token index each, so the larger the batch the more rows share a
	// page write: on a 1M-row import, 10,000 rows a batch cost 37 CPU
	// seconds where 1,000 cost 56 (docs/performance.md). The price is the
	// write lock: a batch holds it for up to about 0.4 s on an app of a
	// million subscribers, during which a running herald serve's writes
	// wait. --batch 1000 keeps that under 50 ms.
	DefaultBatch = 10_000
	// chunkRows rows travel together from the reader to a validating
	// worker and on to the writer: the unit of parallel work.
	chunkRows = 500
	// pageSize is how many subscribers a store read asks for (the store's
	// maximum page).
	pageSize = 1000
)

// Lister reads an app's subscribers a page at a time, in id order.
type Lister interface {
	ListSubscribers(ctx context.Context, appID string, f store.SubscriberFilter) ([]store.Subscriber, error)
}

// Store is what an import needs of the store.
type Store interface {
	Lister
	UpsertSubscribers(ctx context.Context, subs []store.Subscriber) (created, updated int, err error)
}

// Validator checks one registration and returns the row it describes;
// *registry.Service is one. It must be safe for concurrent use.
type Validator interface {
	Validate(r registry.Registration) (store.Subscriber, error)
}

// Importer imports files into apps.
type Importer struct {
	st  Store
	v   Validator
	now func() time.Time
}

// New returns an Importer writing to st and validating with v; now stamps
// new rows (nil means time.Now).
func New(st Store, v Validator, now func() time.Time) *Importer {
	if now == nil {
		now = time.Now
	}
	return &Importer{st: st, v: v, now: now}
}

// Options control an import. The zero value detects the format and uses
// the defaults.
type Options struct {
	Format  Format // "" or FormatAuto: tell it from the first line
	Batch   int    // rows per transaction; 0 means DefaultBatch
	Workers int    // validating goroutines; 0 means GOMAXPROCS
	// Bad, if set, is called for each row that is not imported because it
	// is malformed or invalid, in file order, from the goroutine that
	// called Import.
	Bad func(line int, reason string)
	// Progress, if set, is kept up to date while the import runs.
	Progress *Progress
}

// Stats is what an import did. Read = Created + Updated + Unchanged +
// Skipped + Bad.
type Stats struct {
	Format    Format
	Read      int64            // rows read (a CSV header and blank lines are not rows)
	Created   int64            // new subscribers
	Updated   int64            // existing subscribers whose values changed
	Unchanged int64            // rows that matched what is stored, not written
	Skipped   int64            // rows that are not push subscriptions (see SkippedBy)
	Bad       int64            // malformed or invalid rows, each reported through Options.Bad
	SkippedBy map[string]int64 // reason → rows
}

// row is one record after parsing and validation.
type row struct {
	line int
	bad  string // reason the row is bad
	skip string // reason the row is skipped
	sub  store.Subscriber
	key  uint64
	st   state
}

// chunk is a run of rows on its way from the reader through a worker to
// the writer; done is closed once rows is filled.
type chunk struct {
	recs []record
	rows []row
	err  error // a fatal read error after recs
	done chan struct{}
}

// Import reads r in the format o names and imports its rows into appID.
// A malformed or invalid row is reported through o.Bad and skipped; a
// failed read or write stops the import with an error, after the batches
// before it were committed (running the import again finishes the job).
func (im *Importer) Import(ctx context.Context, appID string, r io.Reader, o Options) (Stats, error) {
	o = o.withDefaults()
	br := bufio.NewReaderSize(&countingReader{r: r, p: o.Progress}, 256<<10)
	src, format, err := open(br, o.Format)
	if err != nil {
		return Stats{}, fmt.Errorf("import: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	// The index loads while the first rows are read and validated; only
	// the writer needs it complete.
	ix := newIndex()
	loaded := make(chan error, 1)
	go func() { loaded <- ix.load(ctx, im.st, appID) }()
	ordered, wait := im.start(ctx, src, ix, appID, o.Workers)
	defer func() {
		cancel() // stops the workers and, at its next chunk, the reader
		wait()
	}()

	stats := Stats{Format: format, SkippedBy: map[string]int64{}}
	if err := <-loaded; err != nil {
		return stats, fmt.Errorf("import into %s: %w", appID, err)
	}
	w := writer{im: im, ix: ix, o: o, stats: &stats,
		batch: make([]store.Subscriber, 0, o.Batch), spare: make([]store.Subscriber, 0, o.Batch)}
	defer w.wait() // on an early return, the batch in flight still finishes
	for c := range ordered {
		select {
		case <-c.done:
		case <-ctx.Done():
			return stats, ctx.Err()
		}
		for i := range c.rows {
			if err := w.take(ctx, &c.rows[i]); err != nil {
				return stats, fmt.Errorf("import into %s: %w", appID, err)
			}
		}
		o.Progress.publish(&stats)
		if c.err != nil {
			return stats, fmt.Errorf("import: %w", c.err)
		}
	}
	if err := w.flush(ctx); err != nil {
		return stats, fmt.Errorf("import into %s: %w", appID, err)
	}
	if err := w.wait(); err != nil {
		return stats, fmt.Errorf("import into %s: %w", appID, err)
	}
	o.Progress.publish(&stats)
	return stats, ctx.Err()
}

func (o Options) withDefaults() Options {
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Progress == nil {
		o.Progress = &Progress{}
	}
	if o.Format == "" {
		o.Format = FormatAuto
	}
	return o
}

// start runs the reader and the validating workers until the file ends or
// ctx is done. Chunks come out of ordered in file order, each to be waited
// for (done) before its rows are used; wait returns once the workers have
// stopped.
func (im *Importer) start(ctx context.Context, src source, ix *index, appID string, workers int) (ordered <-chan *chunk, wait func()) {
	work := make(chan *chunk, workers*2)
	out := make(chan *chunk, workers*4)
	go read(ctx, src, work, out)
	var wg sync.WaitGroup
	now := im.now().UTC().Truncate(time.Millisecond)
	for range workers {
		wg.Go(func() {
			for {
				var c *chunk
				select {
				case c = <-work:
				case <-ctx.Done():
					return
				}
				if c == nil { // work closed: the file is read
					return
				}
				c.rows = make([]row, len(c.recs))
				for i, rec := range c.recs {
					c.rows[i] = im.row(rec, src, ix, appID, now)
				}
				close(c.done)
			}
		})
	}
	return out, wg.Wait
}

// read sends src's records in chunks to the workers and, in the same
// order, to the writer. It stops at the end of the file, after a chunk
// carrying a read error, or when ctx is done.
func read(ctx context.Context, src source, work, ordered chan<- *chunk) {
	defer close(work)
	defer close(ordered)
	for {
		c := &chunk{recs: make([]record, 0, chunkRows), done: make(chan struct{})}
		eof := false
		for len(c.recs) < chunkRows {
			rec, err := src.next()
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				c.err = err
				break
			}
			c.recs = append(c.recs, rec)
		}
		if len(c.recs) == 0 && c.err == nil {
			return
		}
		select {
		case ordered <- c:
		case <-ctx.Done():
			return
		}
		select {
		case work <- c:
		case <-ctx.Done():
			return
		}
		if eof || c.err != nil {
			return
		}
	}
}

// row parses and validates one record; it runs on the workers.
func (im *Importer) row(rec record, src source, ix *index, appID string, now time.Time) row {
	rw := row{line: rec.line}
	if rec.bad != "" {
		rw.bad = rec.bad
		return rw
	}
	e, err := src.parse(rec)
	if err != nil {
		rw.bad = err.Error()
		return rw
	}
	if e.skip != "" {
		rw.skip = e.skip
		return rw
	}
	sub, err := im.v.Validate(e.reg)
	if err != nil {
		var fe *registry.FieldError
		if _, isCSV := src.(*heraldCSV); isCSV && errors.As(err, &fe) {
			rw.bad = csvField(fe.Field) + ": " + fe.Message
		} else {
			rw.bad = err.Error()
		}
		return rw
	}
	sub.AppID = appID
	sub.RegistrationID = registry.NewRegistrationID()
	sub.CreatedAt, sub.UpdatedAt, sub.LastActiveAt = now, now, now
	if !e.createdAt.IsZero() && e.createdAt.Before(now) {
		sub.CreatedAt = e.createdAt.Truncate(time.Millisecond)
	}
	if !e.lastActive.IsZero() && e.lastActive.Before(now) {
		sub.LastActiveAt = e.lastActive.Truncate(time.Millisecond)
	}
	rw.sub, rw.key, rw.st = sub, ix.key(sub.Channel, sub.Token), ix.stateOf(sub)
	return rw
}

// writer judges rows against the index and writes the changed ones in
// batches. It runs on the goroutine that called Import, except the store
// writes: a full batch is written by a goroutine of its own while the
// next one fills (two batches in memory at most), so reading, validating
// and judging rows overlap the store's work instead of waiting for it.
type writer struct {
	im     *Importer
	ix     *index
	o      Options
	stats  *Stats
	batch  []store.Subscriber // filling
	spare  []store.Subscriber // the batch in flight, or free
	flying chan flushed       // the batch in flight's outcome; nil when none
}

// flushed is a written batch's outcome.
type flushed struct {
	created, updated int
	err              error
}

func (w *writer) take(ctx context.Context, rw *row) error {
	w.stats.Read++
	switch {
	case rw.bad != "":
		w.stats.Bad++
		if w.o.Bad != nil {
			w.o.Bad(rw.line, rw.bad)
		}
	case rw.skip != "":
		w.stats.Skipped++
		w.stats.SkippedBy[rw.skip]++
	case !w.ix.apply(rw.key, rw.st):
		w.stats.Unchanged++
	default:
		w.batch = append(w.batch, rw.sub)
		if len(w.batch) >= w.o.Batch {
			return w.flush(ctx)
		}
	}
	return nil
}

// flush waits for the batch in flight, then sends the filled one off and
// starts filling the other.
func (w *writer) flush(ctx context.Context) error {
	if len(w.batch) == 0 {
		return nil
	}
	if err := w.wait(); err != nil {
		return err
	}
	w.batch, w.spare = w.spare, w.batch
	batch, done := w.spare, make(chan flushed, 1)
	w.flying = done
	go func() {
		var f flushed
		f.created, f.updated, f.err = w.im.st.UpsertSubscribers(ctx, batch)
		done <- f
	}()
	return nil
}

// wait collects the batch in flight, if any, into the stats.
func (w *writer) wait() error {
	if w.flying == nil {
		return nil
	}
	f := <-w.flying
	w.flying = nil
	clear(w.spare) // let the rows go
	w.spare = w.spare[:0]
	if f.err != nil {
		return f.err
	}
	w.stats.Created += int64(f.created)
	w.stats.Updated += int64(f.updated)
	return nil
}
