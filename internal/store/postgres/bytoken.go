package postgres

import (
	"context"
	"fmt"

	"github.com/heraldpush/herald/internal/store"
)

// SubscriberByToken reads the (app_id, channel, token) unique index.
func (s *Store) SubscriberByToken(ctx context.Context, appID string, ch store.Channel, token string) (store.Subscriber, error) {
	row := s.db.QueryRowContext(ctx, subSelect+` WHERE s.app_id = $1 AND s.channel = $2 AND s.token = $3`, appID, string(ch), token)
	sub, err := scanSub(row, true)
	if err != nil {
		return store.Subscriber{}, fmt.Errorf("postgres: subscriber of %s by %s token: %w", appID, ch, classify(err))
	}
	return sub, nil
}
