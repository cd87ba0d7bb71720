package delivery

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/heraldpush/herald/internal/store"
)

// Local-time delivery (store.Message.LocalTime, "HH:MM").
//
// The fanout streams the audience as for any message, in id order; each
// page's recipients are grouped by the instant HH:MM next falls in their
// time zone (localInstant), and each group's batch jobs are scheduled at
// that instant (River's ScheduledAt) and carry it (deliverArgs.LocalAt),
// so that the message's TTL counts from it. A subscriber without a time
// zone, or with one the time zone database does not know, is treated as
// UTC. Where HH:MM has already passed on the send day, the recipient gets
// the message at HH:MM the next day: every recipient is sent to within 24
// hours of send_at, never early. The message stays "sending" until the
// last zone's batches are final, and is then done as any other.

// zones caches the time zones of one fanout run.
type zones map[string]*time.Location

// location returns the zone named tz, UTC for "" or an unknown name.
func (z zones) location(tz string) *time.Location {
	if loc, ok := z[tz]; ok {
		return loc
	}
	loc := time.UTC
	if tz != "" {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	z[tz] = loc
	return loc
}

// parseLocalTime reads "HH:MM" (validated by package send).
func parseLocalTime(hhmm string) (hour, minute int, err error) {
	if len(hhmm) != 5 || hhmm[2] != ':' {
		return 0, 0, fmt.Errorf("local time %q is not HH:MM", hhmm)
	}
	h, err1 := strconv.Atoi(hhmm[:2])
	m, err2 := strconv.Atoi(hhmm[3:])
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, 0, fmt.Errorf("local time %q is not HH:MM", hhmm)
	}
	return h, m, nil
}

// localInstant is the first instant at or after from (to the minute: a
// send at 09:00:40 for 09:00 goes at once) whose wall-clock time in loc is
// hour:minute. A time skipped by a daylight-saving change comes out as
// time.Date normalises it (02:30 on a spring-forward night is 03:30).
func localInstant(from time.Time, hour, minute int, loc *time.Location) time.Time {
	base := from.Truncate(time.Minute).In(loc)
	at := time.Date(base.Year(), base.Month(), base.Day(), hour, minute, 0, 0, loc)
	if at.Before(base) {
		at = time.Date(base.Year(), base.Month(), base.Day()+1, hour, minute, 0, 0, loc)
	}
	return at.UTC()
}

// localPageFactor is how many batches' worth of recipients a local-time
// fanout reads a page at a time: a page splits by instant (one per UTC
// offset among the recipients) and channel, so reading more at once
// keeps the batches near BatchSize when the audience spans a few zones
// rather than slicing every 500 recipients into one small job per zone.
const localPageFactor = 8

// localBatches splits page into the batch jobs of a local-time message:
// per (instant, channel), in order of first appearance, batches of at most
// size recipients in id order, each carrying its instant.
func localBatches(m store.Message, page []store.Recipient, z zones, size int) ([]deliverArgs, error) {
	hour, minute, err := parseLocalTime(m.LocalTime)
	if err != nil {
		return nil, fmt.Errorf("message %d: %w", m.ID, err)
	}
	type key struct {
		at time.Time
		ch store.Channel
	}
	groups := map[key][]int64{}
	var order []key
	for _, r := range page {
		k := key{localInstant(m.SendAt, hour, minute, z.location(r.Timezone)), r.Channel}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r.ID)
	}
	var out []deliverArgs
	for _, k := range order {
		for ids := range slices.Chunk(groups[k], size) {
			out = append(out, deliverArgs{AppID: m.AppID, MessageID: m.ID, Channel: k.ch, IDs: ids, LocalAt: k.at})
		}
	}
	return out, nil
}

// enqueueLocal inserts page's batch jobs for a local-time message
// (localBatches), each scheduled at its instant.
func (e *Engine) enqueueLocal(ctx context.Context, tx *sql.Tx, m store.Message, page []store.Recipient, z zones) error {
	if len(page) == 0 {
		return nil
	}
	batches, err := localBatches(m, page, z, e.o.BatchSize)
	if err != nil {
		return err
	}
	params := make([]river.InsertManyParams, len(batches))
	for i, b := range batches {
		params[i] = river.InsertManyParams{Args: b, InsertOpts: &river.InsertOpts{Queue: queueFor(b.Channel), ScheduledAt: b.LocalAt}}
	}
	if _, err := e.river.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue local-time batches: %w", err)
	}
	return nil
}
