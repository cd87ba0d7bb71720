package delivery

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/heraldpush/herald/internal/store"
)

// sendBatch pushes to subs with up to BatchConcurrency sends in flight,
// recording outcomes as they come.
//
// The first batch of a message (first) pushes its first recipient alone
// before the others: that push also opens the connection to the push
// service and signs the app's VAPID token, and it leaves sooner without
// 63 encryptions competing with it for the CPU.
func (e *Engine) sendBatch(ctx context.Context, m store.Message, c Content, a deliverArgs, queue string, first bool, subs []store.Subscriber) error {
	rec := &recorder{e: e, m: m, args: a, queue: queue}
	pusher := e.pushers[a.Channel]
	payloads := payloadCache{c: c, id: m.ID}
	if a.Channel == store.ChannelWebPush && e.o.Tracking != nil && len(c.Raw) == 0 {
		payloads.appID, payloads.sign = m.AppID, e.o.Tracking
	}
	if a.Start.IsZero() && (len(subs) == 1 || first) {
		// One recipient (most small messages) needs no goroutine to hand
		// it to; a first batch's first push goes alone.
		rec.add(ctx, e.attempt(ctx, m, a, pusher, &payloads, subs[0]))
		if subs = subs[1:]; len(subs) == 0 {
			return rec.final(ctx)
		}
	}
	work := make(chan store.Subscriber)
	var wg sync.WaitGroup
	for range min(e.o.BatchConcurrency, len(subs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sub := range work {
				rec.add(ctx, e.attempt(ctx, m, a, pusher, &payloads, sub))
			}
		}()
	}
	tick := time.NewTicker(e.o.FlushInterval)
	defer tick.Stop()
	pace := time.NewTimer(0)
	defer pace.Stop()
feed:
	for i, sub := range subs {
		// A throttled batch hands out recipient i at its share of the
		// window; a batch that starts late catches up at once.
		if due := a.dueAt(i, len(subs)); !due.IsZero() {
			if wait := due.Sub(e.o.Now()); wait > 0 {
				pace.Reset(wait)
			wait:
				for {
					select {
					case <-pace.C:
						break wait
					case <-tick.C:
						rec.flush(ctx, false)
					case <-ctx.Done():
						break feed
					}
				}
			}
		}
		for {
			select {
			case work <- sub:
				continue feed
			case <-tick.C:
				rec.flush(ctx, false)
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(work)
	wg.Wait()
	return rec.final(ctx)
}

// final writes what was done, even when the job is being stopped (ctx
// done), so that a restart repeats as little as possible; then the job
// ends with ctx's error, if any.
func (r *recorder) final(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.flush(fctx, true); err != nil {
		return err
	}
	return ctx.Err()
}

// dueAt is when recipient i of n of a paced batch is due; zero when the
// batch is not paced.
func (a deliverArgs) dueAt(i, n int) time.Time {
	if a.Start.IsZero() || n == 0 {
		return time.Time{}
	}
	return a.Start.Add(a.End.Sub(a.Start) * time.Duration(i) / time.Duration(n))
}

// outcome is one recipient's result, with when to retry it.
type outcome struct {
	store.Outcome
	retryAt time.Time
	skip    bool // interrupted: no outcome, the job runs again
}

// attempt decides one recipient's outcome: expired without trying, or
// the pusher's answer turned into sent / failed / pruned / retrying.
func (e *Engine) attempt(ctx context.Context, m store.Message, a deliverArgs, p Pusher, payloads *payloadCache, sub store.Subscriber) outcome {
	o := outcome{Outcome: store.Outcome{SubscriberID: sub.ID, Channel: a.Channel}}
	now := e.o.Now()
	expires := m.ExpiresAt()
	if !a.LocalAt.IsZero() {
		expires = a.LocalAt.Add(m.TTL) // a local-time batch's TTL counts from its instant
	}
	// A TTL of zero means "now or never": one try, no retries.
	if (m.TTL > 0 && !now.Before(expires)) || (m.TTL == 0 && a.Attempt > 0) {
		o.Result = store.ResultExpired
		e.o.Observer.Push(string(a.Channel), string(o.Result), 0)
		return o
	}
	if p == nil {
		o.Result, o.Reason = store.ResultFailed, "channel "+string(a.Channel)+" not configured"
		return o
	}
	payload, err := payloads.forRecipient(sub)
	if err != nil {
		o.Result, o.Reason = store.ResultFailed, "payload"
		return o
	}
	ttl := max(expires.Sub(now), 0)
	at := p.Push(ctx, sub, Push{AppID: m.AppID, Payload: payload, TTL: ttl, Urgency: m.Urgency, Topic: m.Topic})
	if at.Result == store.ResultRetrying && ctx.Err() != nil {
		o.skip = true
		return o
	}
	done := e.o.Now()
	ch := string(a.Channel)
	e.o.Observer.Push(ch, string(at.Result), done.Sub(now))
	o.Result, o.Reason = at.Result, at.Reason
	if at.Result == store.ResultSent {
		due := m.SendAt
		if a.LocalAt.After(due) {
			due = a.LocalAt
		}
		e.o.Observer.Delivered(ch, done.Sub(due))
	}
	if at.Result != store.ResultRetrying {
		return o
	}
	e.o.Observer.Retry(ch, at.Reason)
	switch retryAt := now.Add(max(e.backoff(a.Attempt), at.RetryAfter)); {
	case a.Attempt+1 >= e.o.MaxAttempts:
		o.Result, o.Reason = store.ResultFailed, "retries exhausted: "+at.Reason
	case m.TTL == 0 || (m.TTL > 0 && !retryAt.Before(expires)):
		// The retry would come after the TTL: never send late.
		o.Result, o.Reason = store.ResultExpired, ""
	default:
		o.retryAt = retryAt
	}
	return o
}

// payloadCache builds each language's payload once per batch; with a
// signer, each recipient's copy gets its tracking fields appended.
type payloadCache struct {
	c     Content
	id    int64
	appID string          // with sign: the message's app
	sign  RecipientSigner // nil: payloads are shared as they are
	mu    sync.Mutex
	by    map[string][]byte
}

// forRecipient is sub's payload: its language's, plus its tracking fields
// when the cache signs.
func (p *payloadCache) forRecipient(sub store.Subscriber) ([]byte, error) {
	b, err := p.get(sub.Language)
	if err != nil || p.sign == nil {
		return b, err
	}
	return withRecipient(b, p.appID, p.id, sub.RegistrationID, p.sign), nil
}

func (p *payloadCache) get(lang string) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b, ok := p.by[lang]; ok {
		return b, nil
	}
	b, err := p.c.Payload(p.id, lang)
	if err != nil {
		return nil, err
	}
	if p.by == nil {
		p.by = map[string][]byte{}
	}
	p.by[lang] = b
	return b, nil
}

// recorder buffers outcomes and writes them in batches, enqueueing a
// retry job for the retrying ones in the same transaction.
type recorder struct {
	e     *Engine
	m     store.Message
	args  deliverArgs
	queue string // the batch's queue, where its retry job goes too

	mu      sync.Mutex
	pending []outcome
	flushMu sync.Mutex // one write at a time, in order
	err     error
}

func (r *recorder) add(ctx context.Context, o outcome) {
	if o.skip {
		return
	}
	r.mu.Lock()
	r.pending = append(r.pending, o)
	full := len(r.pending) >= r.e.o.FlushEvery
	r.mu.Unlock()
	if full {
		r.flush(ctx, false)
	}
}

// flush writes the buffered outcomes. A failed write keeps them for the
// final flush, whose error fails the job (which then runs again and skips
// whatever was written).
func (r *recorder) flush(ctx context.Context, final bool) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	batch := r.pending
	r.pending = nil
	r.mu.Unlock()
	if len(batch) == 0 {
		return r.err
	}
	outs := make([]store.Outcome, len(batch))
	var retryIDs []int64
	var retryAt time.Time
	for i, o := range batch {
		outs[i] = o.Outcome
		if o.Result == store.ResultRetrying {
			retryIDs = append(retryIDs, o.SubscriberID)
			if o.retryAt.After(retryAt) {
				retryAt = o.retryAt
			}
		}
	}
	var enqueue store.TxFunc
	if len(retryIDs) > 0 {
		a := deliverArgs{AppID: r.args.AppID, MessageID: r.args.MessageID, Channel: r.args.Channel, IDs: retryIDs, Attempt: r.args.Attempt + 1, LocalAt: r.args.LocalAt}
		enqueue = func(ctx context.Context, tx *sql.Tx) error {
			_, err := r.e.river.InsertTx(ctx, tx, a, &river.InsertOpts{Queue: r.retryQueue(), Priority: priorityLater, ScheduledAt: retryAt})
			return err
		}
	}
	if _, err := r.e.store.RecordOutcomes(ctx, r.args.AppID, r.args.MessageID, outs, enqueue); err != nil {
		r.e.log.Error("recording outcomes failed", "msg_id", r.args.MessageID, "outcomes", len(outs), "err", err)
		r.mu.Lock()
		r.pending = append(batch, r.pending...)
		r.mu.Unlock()
		if final {
			r.err = err
		}
		return err
	}
	return nil
}

// retryQueue is where the batch's retry job goes: its own queue, so that
// an express batch's retries stay express; a throttled batch's go to
// the channel's queue, since they are not paced.
func (r *recorder) retryQueue() string {
	if r.queue == "" || r.queue == queuePaced {
		return queueFor(r.args.Channel)
	}
	return r.queue
}
