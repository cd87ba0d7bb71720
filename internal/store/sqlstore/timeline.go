package sqlstore

import (
	"context"
	"fmt"

	"github.com/heraldpush/herald/internal/store"
)

// finalCounts counts a group's final outcomes by result; count() of a
// CASE without ELSE counts the rows it matches, on both engines.
const finalCounts = `count(CASE WHEN result = 'sent' THEN 1 END), count(CASE WHEN result = 'failed' THEN 1 END),
	count(CASE WHEN result = 'pruned' THEN 1 END), count(CASE WHEN result = 'expired' THEN 1 END)`

// ownMessage checks that message id belongs to the app: deliveries are
// keyed by message id alone.
func (q *Queries) ownMessage(ctx context.Context, appID string, id int64) error {
	var one int
	return q.d.Classify(q.db.QueryRowContext(ctx, q.q("SELECT 1 FROM messages WHERE app_id = ? AND id = ?"), appID, id).Scan(&one))
}

// MessageTimeline counts the message's final outcomes per second of
// deliveries.at: one pass over the primary key's message_id prefix.
func (q *Queries) MessageTimeline(ctx context.Context, appID string, id int64) ([]store.TimelinePoint, error) {
	if err := q.ownMessage(ctx, appID, id); err != nil {
		return nil, fmt.Errorf("%s: timeline of message %d: %w", q.d.Name, id, err)
	}
	points, err := collect(rowsOf(q.db.QueryContext(ctx, q.q(`SELECT at / 1000 AS sec, `+finalCounts+`
		FROM deliveries WHERE message_id = ? AND result <> 'retrying'
		GROUP BY sec ORDER BY sec`), id)),
		func(r Scanner) (store.TimelinePoint, error) {
			var sec int64
			var p store.TimelinePoint
			err := r.Scan(&sec, &p.Sent, &p.Failed, &p.Pruned, &p.Expired)
			p.At = FromMS(sec * 1000)
			return p, err
		})
	if err != nil {
		return nil, fmt.Errorf("%s: timeline of message %d: %w", q.d.Name, id, err)
	}
	return points, nil
}

// ChannelCounts returns the message's final outcomes by channel.
func (q *Queries) ChannelCounts(ctx context.Context, appID string, id int64) (map[store.Channel]store.Counters, error) {
	if err := q.ownMessage(ctx, appID, id); err != nil {
		return nil, fmt.Errorf("%s: channel counts of message %d: %w", q.d.Name, id, err)
	}
	type row struct {
		ch string
		c  store.Counters
	}
	rows, err := collect(rowsOf(q.db.QueryContext(ctx, q.q(`SELECT channel, `+finalCounts+`
		FROM deliveries WHERE message_id = ? AND result <> 'retrying'
		GROUP BY channel ORDER BY channel`), id)),
		func(r Scanner) (x row, err error) {
			return x, r.Scan(&x.ch, &x.c.Sent, &x.c.Failed, &x.c.Pruned, &x.c.Expired)
		})
	if err != nil {
		return nil, fmt.Errorf("%s: channel counts of message %d: %w", q.d.Name, id, err)
	}
	out := make(map[store.Channel]store.Counters, len(rows))
	for _, x := range rows {
		out[store.Channel(x.ch)] = x.c
	}
	return out, nil
}
