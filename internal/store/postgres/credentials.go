package postgres

import (
	"context"
	"fmt"

	"github.com/heraldpush/herald/internal/store"
)

// SetChannelCredentials stores or replaces an app's credentials for ch.
func (s *Store) SetChannelCredentials(ctx context.Context, appID string, ch store.Channel, c store.SealedCredentials) error {
	meta := string(c.Meta)
	if meta == "" {
		meta = "{}"
	}
	at := c.UpdatedAt
	if at.IsZero() {
		at = s.now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO app_channel_credentials (app_id, channel, sealed, meta, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (app_id, channel) DO UPDATE SET sealed = excluded.sealed, meta = excluded.meta, updated_at = excluded.updated_at`,
		appID, string(ch), c.Sealed, meta, toMS(at))
	if err != nil {
		return fmt.Errorf("postgres: set %s credentials of %s: %w", ch, appID, classify(err))
	}
	return nil
}

// ChannelCredentials returns an app's credentials for ch.
func (s *Store) ChannelCredentials(ctx context.Context, appID string, ch store.Channel) (store.SealedCredentials, error) {
	var c store.SealedCredentials
	var meta string
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT sealed, meta, updated_at FROM app_channel_credentials WHERE app_id = $1 AND channel = $2`,
		appID, string(ch)).Scan(&c.Sealed, &meta, &at)
	if err != nil {
		return store.SealedCredentials{}, fmt.Errorf("postgres: %s credentials of %s: %w", ch, appID, classify(err))
	}
	c.Meta, c.UpdatedAt = []byte(meta), fromMS(at)
	return c, nil
}

// DeleteChannelCredentials removes an app's credentials for ch.
func (s *Store) DeleteChannelCredentials(ctx context.Context, appID string, ch store.Channel) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM app_channel_credentials WHERE app_id = $1 AND channel = $2`, appID, string(ch))
	if err != nil {
		return fmt.Errorf("postgres: delete %s credentials of %s: %w", ch, appID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("postgres: delete %s credentials of %s: %w", ch, appID, store.ErrNotFound)
	}
	return nil
}
