package delivery

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
	if m.SpreadSeconds > 0 {
		if total, err = e.store.CountAudience(ctx, a.AppID, m.Audience); err != nil {
			return err
		}
	}
	cursor, enqueued := m.FanoutCursor, m.Targeted
	for {
		page, err := e.store.AudiencePage(ctx, a.AppID, m.Audience, cursor, e.o.BatchSize)
		if err != nil {
			return err
		}
		done := len(page) < e.o.BatchSize
		next := cursor
		if len(page) > 0 {
			next = page[len(page)-1].ID
		}
		at := e.spreadAt(m, enqueued, total)
		m, err = e.store.AdvanceFanout(ctx, a.AppID, a.MessageID, next, int64(len(page)), done, func(ctx context.Context, tx *sql.Tx) error {
			return e.enqueueBatches(ctx, tx, m, page, at)
		})
		if err != nil {
			return err
		}
		if m.State == store.StateCancelled || done {
			e.log.Debug("fanout done", "msg_id", a.MessageID, "app_id", a.AppID, "targeted", m.Targeted)
			return nil
		}
		cursor, enqueued = next, enqueued+int64(len(page))
	}
}

// spreadAt is when the batch starting at recipient number `enqueued` of
// `total` is due, when the message is spread over SpreadSeconds: a
// constant rate from SendAt. Zero means now.
func (e *Engine) spreadAt(m store.Message, enqueued, total int64) time.Time {
	if m.SpreadSeconds <= 0 || total <= 0 {
		return time.Time{}
	}
	span := time.Duration(m.SpreadSeconds) * time.Second
	return m.SendAt.Add(time.Duration(float64(span) * float64(enqueued) / float64(total)))
}

// enqueueBatches inserts one batch job per channel present in page.
func (e *Engine) enqueueBatches(ctx context.Context, tx *sql.Tx, m store.Message, page []store.Recipient, at time.Time) error {
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
	params := make([]river.InsertManyParams, 0, len(order))
	for _, ch := range order {
		params = append(params, river.InsertManyParams{
			Args:       deliverArgs{AppID: m.AppID, MessageID: m.ID, Channel: ch, IDs: byChannel[ch]},
			InsertOpts: &river.InsertOpts{Queue: queueFor(ch), ScheduledAt: at},
		})
	}
	if _, err := e.river.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue batches: %w", err)
	}
	return nil
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
	return e.sendBatch(ctx, m, content, a, subs)
}
