package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// upsertSet is what an upsert changes on an existing row: empty values
// keep what is stored (see store.Subscribers), the last activity and
// click never move back (GREATEST ignores NULL), and created_at, id and
// registration_id stay. The tags column is handled by each caller.
const upsertSet = `
	p256dh = coalesce(excluded.p256dh, subscribers.p256dh),
	auth = coalesce(excluded.auth, subscribers.auth),
	alias = CASE WHEN excluded.alias <> '' THEN excluded.alias ELSE subscribers.alias END,
	language = CASE WHEN excluded.language <> '' THEN excluded.language ELSE subscribers.language END,
	timezone = CASE WHEN excluded.timezone <> '' THEN excluded.timezone ELSE subscribers.timezone END,
	updated_at = excluded.updated_at,
	last_active_at = greatest(subscribers.last_active_at, excluded.last_active_at),
	last_clicked_at = greatest(subscribers.last_clicked_at, excluded.last_clicked_at)`

// upsertOneSQL upserts one row. $14 is the new tag set, or NULL to keep
// the stored one. A row PostgreSQL inserted has xmax 0; one it updated
// carries the updating transaction's id, which tells created from updated
// without a lookup, under any concurrency.
const upsertOneSQL = `INSERT INTO subscribers (app_id, registration_id, channel, token,
		p256dh, auth, alias, language, timezone,
		created_at, updated_at, last_active_at, last_clicked_at, tags)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, coalesce($14::text[], '{}'))
	ON CONFLICT (app_id, channel, token) DO UPDATE SET
		tags = coalesce($14::text[], subscribers.tags),` + upsertSet + `
	RETURNING ` + subColumns + `, array_to_json(tags)::text, xmax = 0`

// prepare fills in what the store sets on a subscriber it is given.
func prepare(sub store.Subscriber, now time.Time) (store.Subscriber, error) {
	if sub.AppID == "" || sub.Channel == "" || sub.Token == "" {
		return sub, errors.New("app id, channel and token are required")
	}
	if sub.RegistrationID == "" {
		sub.RegistrationID = rand.Text()
	}
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = now
	}
	if sub.LastActiveAt.IsZero() {
		sub.LastActiveAt = now
	}
	if sub.UpdatedAt.IsZero() {
		sub.UpdatedAt = now
	}
	if sub.Tags != nil {
		sub.Tags = normTags(sub.Tags)
	}
	return sub, nil
}

// UpsertSubscriber inserts sub or updates the app's row with the same
// channel and token, in one transaction with its tags; see
// store.Subscribers for what an update keeps.
func (s *Store) UpsertSubscriber(ctx context.Context, sub store.Subscriber) (store.UpsertResult, error) {
	sub, err := prepare(sub, s.now())
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("postgres: upsert subscriber: %w", err)
	}
	var res store.UpsertResult
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var tags any // nil keeps the stored set
		if sub.Tags != nil {
			tags = sub.Tags
		}
		var tagsJSON sql.NullString
		var created bool
		var out store.Subscriber
		row := tx.QueryRowContext(ctx, upsertOneSQL, sub.AppID, sub.RegistrationID,
			string(sub.Channel), sub.Token, sqlstore.NullBytes(sub.P256DH), sqlstore.NullBytes(sub.Auth),
			sub.Alias, sub.Language, sub.Timezone,
			sqlstore.ToMS(sub.CreatedAt), sqlstore.ToMS(sub.UpdatedAt), sqlstore.ToMS(sub.LastActiveAt), sqlstore.NullMS(sub.LastClickedAt), tags)
		var clicked sql.NullInt64
		var channel string
		var createdAt, updatedAt, active int64
		if err := row.Scan(&out.ID, &out.AppID, &out.RegistrationID, &channel, &out.Token,
			&out.P256DH, &out.Auth, &out.Alias, &out.Language, &out.Timezone,
			&createdAt, &updatedAt, &active, &clicked, &tagsJSON, &created); err != nil {
			return classify(err)
		}
		out.Channel = store.Channel(channel)
		out.CreatedAt, out.UpdatedAt, out.LastActiveAt = sqlstore.FromMS(createdAt), sqlstore.FromMS(updatedAt), sqlstore.FromMS(active)
		out.LastClickedAt = sqlstore.FromNullMS(clicked)
		if tagsJSON.String != "" && tagsJSON.String != "[]" {
			if err := json.Unmarshal([]byte(tagsJSON.String), &out.Tags); err != nil {
				return fmt.Errorf("decode tags: %w", err)
			}
		}
		if sub.Tags != nil {
			if err := replaceTags(ctx, tx, out.AppID, out.ID, sub.Tags, !created); err != nil {
				return err
			}
		}
		res = store.UpsertResult{Subscriber: out, Created: created}
		return nil
	})
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("postgres: upsert subscriber: %w", err)
	}
	return res, nil
}

// replaceTags makes subscriber_tags hold exactly tags for one subscriber
// (clearing first unless the row is new).
func replaceTags(ctx context.Context, tx *sql.Tx, appID string, id int64, tags []string, clear bool) error {
	if clear {
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriber_tags WHERE subscriber_id = $1 AND app_id = $2`, id, appID); err != nil {
			return fmt.Errorf("clear tags: %w", err)
		}
	}
	if len(tags) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO subscriber_tags (app_id, tag, subscriber_id)
		SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING`, appID, tags, id); err != nil {
		return fmt.Errorf("add tags: %w", classify(err))
	}
	return nil
}
