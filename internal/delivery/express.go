package delivery

import (
	"context"
	"database/sql"

	"github.com/riverqueue/river"

	"github.com/heraldpush/herald/internal/store"
)

// Small messages: the express path.
//
// A message to a few registration ids or aliases (a password reset, a
// chat notification: most transactional sends) would otherwise cost a
// fanout job and a batch job, each fetched, worked and completed by River
// in transactions of their own, and its batch would wait in its channel's
// queue behind every batch of a marketing blast enqueued before it.
//
// Instead, Submit resolves such an audience itself (a bounded read: the
// store looks the listed ids or aliases up) and, when it fits in one
// batch, stores the message with its fanout complete and its batch jobs
// in the same transaction: one job per channel, no fanout job. Those
// batches, and those of any message whose whole audience fits in the
// fanout's first page (firstPage), go to the express queue, which has workers of its
// own (Options.ExpressWorkers), so a small message never waits for a big
// one's batches. Durability is the same as the fanout's: the message and
// its batches commit together or not at all, and a batch that runs again
// skips recipients that already have an outcome.
//
// Within a channel's queue a message's first batch has priority over the
// later batches of every message (River works lower priority numbers
// first), so a big send that starts while another is running gets its
// first pushes out without waiting for the other to finish.

// queueExpress holds the batches of messages whose whole audience fits in
// one page.
const queueExpress = "express"

// River priorities: first batches before later ones.
const (
	priorityFirst = 1
	priorityLater = 2
)

// expressAudience says whether Submit resolves m's audience itself: a
// message sent now, unthrottled and not in local time, whose audience is
// narrowed to listed registration ids or aliases, so that resolving it
// reads only those.
func expressAudience(m store.Message) bool {
	a := m.Audience
	return m.State == store.StateQueued && m.SpreadSeconds == 0 && m.LocalTime == "" &&
		(len(a.RegistrationIDs) > 0 || len(a.Aliases) > 0)
}

// resolveSmall returns m's whole audience when Submit can send m on the
// express path: an express audience with between 1 and BatchSize-1
// members (a full page might not be the whole audience). Otherwise, or
// if the read fails (the fanout job then tries), nil.
func (e *Engine) resolveSmall(ctx context.Context, m store.Message) []store.Recipient {
	if !expressAudience(m) {
		return nil
	}
	page, err := e.store.AudiencePage(ctx, m.AppID, m.Audience, 0, e.o.BatchSize)
	if err != nil || len(page) == 0 || len(page) >= e.o.BatchSize {
		return nil
	}
	return page
}

// enqueueExpress inserts the batch jobs of a message whose whole audience
// is page: one per channel, on the express queue.
func (e *Engine) enqueueExpress(ctx context.Context, tx *sql.Tx, m store.Message, page []store.Recipient) error {
	return e.enqueueBatches(ctx, tx, m, page, window{}, batchPlace{queue: queueExpress, priority: priorityFirst})
}

// batchPlace is the queue and priority of a page's batch jobs; a zero
// queue means each channel's own.
type batchPlace struct {
	queue    string
	priority int
}

// placeOf is where a page's batches go: the express queue when the page
// is the whole audience, else the channel's queue (the paced queue for a
// throttled message), first page first.
func placeOf(first, whole bool, w window) batchPlace {
	switch {
	case !w.start.IsZero():
		return batchPlace{queue: queuePaced, priority: priorityFirst}
	case first && whole:
		return batchPlace{queue: queueExpress, priority: priorityFirst}
	case first:
		return batchPlace{priority: priorityFirst}
	}
	return batchPlace{priority: priorityLater}
}

// queues is the queues page's batches were put in, each once.
func (p batchPlace) queues(page []store.Recipient) []string {
	if p.queue != "" {
		if len(page) == 0 {
			return nil
		}
		return []string{p.queue}
	}
	return queuesOf(page)
}

// opts is the insert options of a batch of channel ch.
func (p batchPlace) opts(ch store.Channel) *river.InsertOpts {
	q := p.queue
	if q == "" {
		q = queueFor(ch)
	}
	return &river.InsertOpts{Queue: q, Priority: p.priority}
}
