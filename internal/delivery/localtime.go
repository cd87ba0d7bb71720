package delivery

import (
	"context"
	"database/sql"
	"fmt"
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

// enqueueLocal inserts page's batch jobs for a local-time message: one
// per (instant, channel), scheduled at the instant.
func (e *Engine) enqueueLocal(ctx context.Context, tx *sql.Tx, m store.Message, page []store.Recipient, z zones) error {
	if len(page) == 0 {
		return nil
	}
	hour, minute, err := parseLocalTime(m.LocalTime)
	if err != nil {
		return fmt.Errorf("message %d: %w", m.ID, err)
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
	params := make([]river.InsertManyParams, 0, len(order))
	for _, k := range order {
		params = append(params, river.InsertManyParams{
			Args:       deliverArgs{AppID: m.AppID, MessageID: m.ID, Channel: k.ch, IDs: groups[k], LocalAt: k.at},
			InsertOpts: &river.InsertOpts{Queue: queueFor(k.ch), ScheduledAt: k.at},
		})
	}
	if _, err := e.river.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue local-time batches: %w", err)
	}
	return nil
}
