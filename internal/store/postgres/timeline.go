package postgres

import (
	"context"
	"fmt"

	"github.com/heraldpush/herald/internal/store"
)

// MessageTimeline counts the message's final outcomes per second of
// deliveries.at: one pass over the primary key's message_id prefix.
func (s *Store) MessageTimeline(ctx context.Context, appID string, id int64) ([]store.TimelinePoint, error) {
	if err := ownMessage(ctx, s.db, appID, id, false); err != nil {
		return nil, fmt.Errorf("postgres: timeline of message %d: %w", id, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT at / 1000 AS sec,
			count(*) FILTER (WHERE result = 'sent'), count(*) FILTER (WHERE result = 'failed'),
			count(*) FILTER (WHERE result = 'pruned'), count(*) FILTER (WHERE result = 'expired')
		FROM deliveries WHERE message_id = $1 AND result <> 'retrying'
		GROUP BY sec ORDER BY sec`, id)
	if err != nil {
		return nil, fmt.Errorf("postgres: timeline of message %d: %w", id, err)
	}
	defer rows.Close()
	out := []store.TimelinePoint{}
	for rows.Next() {
		var sec int64
		var p store.TimelinePoint
		if err := rows.Scan(&sec, &p.Sent, &p.Failed, &p.Pruned, &p.Expired); err != nil {
			return nil, fmt.Errorf("postgres: timeline of message %d: %w", id, err)
		}
		p.At = fromMS(sec * 1000)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: timeline of message %d: %w", id, err)
	}
	return out, nil
}

// ChannelCounts returns the message's final outcomes by channel.
func (s *Store) ChannelCounts(ctx context.Context, appID string, id int64) (map[store.Channel]store.Counters, error) {
	if err := ownMessage(ctx, s.db, appID, id, false); err != nil {
		return nil, fmt.Errorf("postgres: channel counts of message %d: %w", id, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT channel,
			count(*) FILTER (WHERE result = 'sent'), count(*) FILTER (WHERE result = 'failed'),
			count(*) FILTER (WHERE result = 'pruned'), count(*) FILTER (WHERE result = 'expired')
		FROM deliveries WHERE message_id = $1 AND result <> 'retrying'
		GROUP BY channel ORDER BY channel`, id)
	if err != nil {
		return nil, fmt.Errorf("postgres: channel counts of message %d: %w", id, err)
	}
	defer rows.Close()
	out := map[store.Channel]store.Counters{}
	for rows.Next() {
		var ch string
		var c store.Counters
		if err := rows.Scan(&ch, &c.Sent, &c.Failed, &c.Pruned, &c.Expired); err != nil {
			return nil, fmt.Errorf("postgres: channel counts of message %d: %w", id, err)
		}
		out[store.Channel(ch)] = c
	}
	return out, rows.Err()
}
