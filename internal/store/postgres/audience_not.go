package postgres

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heraldpush/herald/internal/store"
)

// A long tags NOT list checked on every row (NOT tags && list) costs each
// candidate a comparison of every one of its tags with every tag of the
// list, as the array operator compares pairs: at 1,000,000 subscribers,
// 20 common tags OR and NOT 20 others (or20_not20, 403,239 members) spent
// about 0.75 µs a candidate on it, most of the server's 1.15 s.
//
// A page of such an expression instead reads, from the tag table's key
// (app_id, tag, subscriber_id), the ids carrying a NOT tag within the id
// range the page covers (after the cursor, up to a bound), and drops them
// from its candidates by an anti-join (PostgreSQL merges the candidates,
// in id order, with those ids, sorted): a NOT row costs far less than a
// candidate's comparisons. On that population a page of 500 of
// or20_not20 cost 1.1–1.4 ms against 1.8–1.9 ms (pgbench), and the
// stream's server CPU fell from 1.15–1.20 s to 0.79–0.83 s (herald bench
// audience; active_not20, NOT 20 tags spread over the vocabulary, from
// 0.63–0.66 s to 0.55–0.59 s).
//
// The bound comes from the expression's spacing of members (ids per
// member) measured on its earlier chunks and remembered for a while
// (denseHints.spans), stretched by mergeMargin, so that the range nearly
// always holds the page. When it does not, the page goes on from the
// bound by the ordinary read, which also measures the spacing again.
// Without a measure (a stream's first page), or with members too far
// apart (maxSpacing), a page reads as before. Either way the members are
// the same: the bound only decides how a page is read.

const (
	// notMergeMin is the shortest tags NOT list a page drops by the
	// anti-join: the comparisons per row grow with the list's length,
	// the anti-join's cost with its tags' rows.
	notMergeMin = 8
	// mergeMargin stretches a page's id range beyond the one its spacing
	// predicts, so that a page rarely needs a second statement.
	mergeMargin = 1.1
	// maxSpacing is the most ids per member for which a page uses the
	// anti-join. It reads the NOT tags' rows over the page's whole range,
	// while the row check costs only the candidates that pass the other
	// conditions: when members are far apart, those conditions are
	// selective and the row check is cheaper. At 1,000,000 subscribers
	// the anti-join saved a quarter of the server's time at 2.5 and 3.3
	// ids per member (or20_not20, active_not20) and cost 7% more at 27
	// (or20_and3_not20). An app whose ids are interleaved with other
	// apps' has its members further apart in ids and reads as before.
	maxSpacing = 6
)

// spanHint is an expression's spacing of members, in ids per member, and
// when it expires.
type spanHint struct {
	perMember float64
	until     time.Time
}

// spacing returns key's spacing of members, measured less than hintTTL
// before now.
func (h *denseHints) spacing(key string, now time.Time) (float64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sp, ok := h.spans[key]
	if !ok || !now.Before(sp.until) {
		return 0, false
	}
	return sp.perMember, true
}

// setSpacing records key's spacing of members, measured at now.
func (h *denseHints) setSpacing(key string, perMember float64, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.spans == nil {
		h.spans = map[string]spanHint{}
	}
	if _, ok := h.spans[key]; !ok && len(h.spans) >= maxHints {
		for k, sp := range h.spans {
			if !now.Before(sp.until) {
				delete(h.spans, k)
			}
		}
		if len(h.spans) >= maxHints {
			clear(h.spans)
		}
	}
	h.spans[key] = spanHint{perMember: perMember, until: now.Add(hintTTL)}
}

// mergeable reports whether a page of limit members read by d may drop
// its NOT list's members by the anti-join.
func (p *audiencePlan) mergeable(d driver, limit int) bool {
	return limit > 0 && len(p.not) >= notMergeMin && d == (driver{})
}

// mergeSQL returns the statement reading up to n members with ids in
// (cursor, upto], in id order, as rows of (id, channel, time zone, true):
// the candidates' column, OR and AND conditions on each row, and the NOT
// list by an anti-join with the NOT tags' rows in the same range.
func (p *audiencePlan) mergeSQL(cursor, upto int64, n int) (string, args) {
	a := slices.Clone(p.args)
	a[1] = cursor
	y := a.add(upto)
	return `SELECT s.id, s.channel, s.timezone, true FROM subscribers s
		WHERE s.app_id = $1 AND s.id > $2 AND s.id <= ` + y + p.cols + p.keep + ` AND NOT EXISTS (
		SELECT FROM subscriber_tags t WHERE t.app_id = $1 AND t.tag = ANY(` + p.notArg + tagList + `)
		AND t.subscriber_id > $2 AND t.subscriber_id <= ` + y + ` AND t.subscriber_id = s.id)` +
		orderLimit("s.id", n, &a), a
}

// mergeRange returns the end of the id range after cursor expected to
// hold n members spaced perMember ids apart, with mergeMargin to spare.
func mergeRange(cursor int64, n int, perMember float64) int64 {
	span := math.Ceil(float64(n)*perMember*mergeMargin) + minChunk
	if span >= float64(math.MaxInt64-cursor) {
		return math.MaxInt64
	}
	return cursor + int64(span)
}

// mergeChunk passes member, in order, up to n members after cursor read
// through the anti-join, over the range a spacing of perMember predicts.
// It returns how many it passed, the last one's id and the range's end:
// when fewer than n, every member up to there has been passed.
func (s *Store) mergeChunk(ctx context.Context, p *audiencePlan, cursor int64, n int, perMember float64,
	zones map[string]string, member func(store.Recipient) bool) (found int, last, upto int64, err error) {
	upto = mergeRange(cursor, n, perMember)
	q, qargs := p.mergeSQL(cursor, upto, n)
	// Planned for its own arguments (an unnamed statement), not by the
	// pool's statement cache: after five runs PostgreSQL may keep a
	// generic plan, which, not knowing the range, probes the tag table
	// once per candidate (a nested loop; 2.4 s of the server's CPU for
	// or20_not20's stream, against 1.2 s before the anti-join).
	qargs = append(args{pgx.QueryExecModeExec}, qargs...)
	found, last, _, err = s.chunk(ctx, q, qargs, zones, member)
	return found, last, upto, err
}
