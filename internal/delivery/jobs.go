package delivery

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/heraldpush/herald/internal/store"
)

const queueFanout = "fanout"

// fanoutArgs is the job that turns a message's audience into batches.
type fanoutArgs struct {
	AppID     string `json:"app_id"`
	MessageID int64  `json:"message_id"`
}

func (fanoutArgs) Kind() string { return "herald.fanout" }

// deliverArgs is one batch: up to BatchSize recipients of one channel. A
// retry batch (Attempt > 0) carries the recipients whose outcome is
// retrying.
type deliverArgs struct {
	AppID     string        `json:"app_id"`
	MessageID int64         `json:"message_id"`
	Channel   store.Channel `json:"channel"`
	IDs       []int64       `json:"ids"`
	Attempt   int           `json:"attempt,omitempty"`
	// Start and End, when set, pace the batch: its sends are spread evenly
	// over [Start, End] (a throttled message).
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// LocalAt, for a local-time message, is the instant this batch is for
	// (its recipients' local HH:MM); the TTL counts from it.
	LocalAt time.Time `json:"local_at,omitzero"`
}

func (deliverArgs) Kind() string { return "herald.deliver" }

type fanoutWorker struct {
	river.WorkerDefaults[fanoutArgs]
	e *Engine
}

// Work streams the audience from the message's fanout cursor, a page at
// a time; each page's batch jobs are enqueued in the same transaction that
// advances the cursor, so a crash resumes exactly where it stopped.
func (w *fanoutWorker) Work(ctx context.Context, job *river.Job[fanoutArgs]) error {
	e, a := w.e, job.Args
	m, err := e.store.Message(ctx, a.AppID, a.MessageID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.State == store.StateCancelled || m.State == store.StateDone || m.FanoutDone {
		return nil
	}
	total := int64(-1)
	size := e.o.BatchSize
	if m.SpreadSeconds > 0 {
		if total, err = e.store.CountAudience(ctx, a.AppID, m.Audience); err != nil {
			return err
		}
		size = e.paceSize(m, total)
	}
	if m.LocalTime != "" {
		size = e.o.BatchSize * localPageFactor // split by time zone: see enqueueLocal
	}
	cursor, enqueued := m.FanoutCursor, m.Targeted
	z := zones{}
	for {
		limit := size
		if cursor == 0 && m.SpreadSeconds <= 0 && m.LocalTime == "" {
			limit = min(size, firstPage) // the first batch starts sooner
		}
		page, err := e.store.AudiencePage(ctx, a.AppID, m.Audience, cursor, limit)
		if err != nil {
			return err
		}
		done := len(page) < limit
		next := cursor
		if len(page) > 0 {
			next = page[len(page)-1].ID
		}
		w := e.window(m, enqueued, int64(len(page)), total)
		place := placeOf(cursor == 0, done, w)
		m, err = e.store.AdvanceFanout(ctx, a.AppID, a.MessageID, next, int64(len(page)), done, func(ctx context.Context, tx *sql.Tx) error {
			if m.LocalTime != "" {
				return e.enqueueLocal(ctx, tx, m, page, z)
			}
			return e.enqueueBatches(ctx, tx, m, page, w, place)
		})
		if err != nil {
			return err
		}
		// The page's batches are committed: wake their queues. (Throttled
		// and local-time batches are mostly scheduled for later, which River's
		// scheduler releases; a wake for them costs one empty fetch.)
		if m.LocalTime != "" {
			e.wake.wake(ctx, queuesOf(page)...)
		} else {
			e.wake.wake(ctx, place.queues(page)...)
		}
		if m.State == store.StateCancelled || done {
			e.log.Debug("fanout done", "msg_id", a.MessageID, "app_id", a.AppID, "targeted", m.Targeted)
			return nil
		}
		cursor, enqueued = next, enqueued+int64(len(page))
	}
}

// firstPage is the size of an unthrottled fanout's first page: a small
// first batch is read, enqueued, committed and fetched sooner, so the
// first pushes of a big send leave while the rest of the audience is
// still being paged.
const firstPage = 100

// paceWindow is how long one batch of a throttled message sends for, and
// paceLead how early its job is scheduled: River releases scheduled jobs
// every few seconds, so the job starts early and waits for its window.
const (
	paceWindow = 10 * time.Second
	paceLead   = 15 * time.Second
	maxPaced   = 5000
)

// queuePaced holds throttled batches: they wait for their window, so they
// get workers of their own rather than hold up unthrottled sends.
const queuePaced = "paced"

// paceSize is the batch size of a throttled message: what it sends in one
// pace window at its constant rate.
func (e *Engine) paceSize(m store.Message, total int64) int {
	rate := float64(total) / float64(m.SpreadSeconds)
	n := int(rate*paceWindow.Seconds()) + 1
	return min(max(n, 1), maxPaced)
}

// window is the time a batch of n recipients, starting at recipient number
// `enqueued` of `total`, must be sent in when the message is spread over
// SpreadSeconds at a constant rate from SendAt. Zero for an unthrottled
// message.
type window struct{ start, end time.Time }

func (e *Engine) window(m store.Message, enqueued, n, total int64) window {
	if m.SpreadSeconds <= 0 || total <= 0 {
		return window{}
	}
	span := float64(time.Duration(m.SpreadSeconds) * time.Second)
	at := func(k int64) time.Time {
		return m.SendAt.Add(time.Duration(span * float64(min(k, total)) / float64(total)))
	}
	return window{start: at(enqueued), end: at(enqueued + n)}
}

// enqueueBatches inserts one batch job per channel present in page, in
// the queue and with the priority of place.
func (e *Engine) enqueueBatches(ctx context.Context, tx *sql.Tx, m store.Message, page []store.Recipient, w window, place batchPlace) error {
	if len(page) == 0 {
		return nil
	}
	byChannel := map[store.Channel][]int64{}
	var order []store.Channel
	for _, r := range page {
		if _, ok := byChannel[r.Channel]; !ok {
			order = append(order, r.Channel)
		}
		byChannel[r.Channel] = append(byChannel[r.Channel], r.ID)
	}
	var at time.Time
	if !w.start.IsZero() {
		at = w.start.Add(-paceLead)
	}
	params := make([]river.InsertManyParams, 0, len(order))
	for _, ch := range order {
		opts := place.opts(ch)
		opts.ScheduledAt = at
		params = append(params, river.InsertManyParams{
			Args:       deliverArgs{AppID: m.AppID, MessageID: m.ID, Channel: ch, IDs: byChannel[ch], Start: w.start, End: w.end},
			InsertOpts: opts,
		})
	}
	if _, err := e.river.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue batches: %w", err)
	}
	return nil
}

// queuesOf is the queues of the channels in page, each once.
func queuesOf(page []store.Recipient) []string {
	var qs []string
	for _, r := range page {
		if q := queueFor(r.Channel); !slices.Contains(qs, q) {
			qs = append(qs, q)
		}
	}
	return qs
}

// queueFor names the queue of a channel; an unknown channel gets the Web
// Push queue and fails there with a clear reason.
func queueFor(ch store.Channel) string {
	switch ch {
	case store.ChannelFCM, store.ChannelAPNs:
		return string(ch)
	}
	return string(store.ChannelWebPush)
}

type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	e *Engine
}

// Timeout lets a batch with slow push services run its course; requests
// have their own deadline.
func (w *deliverWorker) Timeout(*river.Job[deliverArgs]) time.Duration { return w.e.o.RescueAfter / 2 }

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	e, a := w.e, job.Args
	m, err := e.store.Message(ctx, a.AppID, a.MessageID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.State == store.StateCancelled {
		return nil
	}
	subs, err := e.store.PendingRecipients(ctx, a.AppID, a.MessageID, a.IDs, a.Attempt > 0)
	if err != nil || len(subs) == 0 {
		return err
	}
	var content Content
	if err := json.Unmarshal(m.Content, &content); err != nil {
		return fmt.Errorf("delivery: content of message %d: %w", m.ID, err)
	}
	first := job.Priority == priorityFirst && a.Attempt == 0
	return e.sendBatch(ctx, m, content, a, job.Queue, first, subs)
}
