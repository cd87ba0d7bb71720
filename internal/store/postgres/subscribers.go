package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// subColumns are a subscriber's own columns, in the order scanSub reads
// them; subSelect adds its tags (the sorted copy on the row) as JSON.
const (
	subColumns = `id, app_id, registration_id, channel, token, p256dh, auth,
	alias, language, timezone, created_at, updated_at, last_active_at, last_clicked_at`
	subSelect = `SELECT s.id, s.app_id, s.registration_id, s.channel, s.token,
	s.p256dh, s.auth, s.alias, s.language, s.timezone, s.created_at,
	s.updated_at, s.last_active_at, s.last_clicked_at, array_to_json(s.tags)::text
	FROM subscribers s`
	// tagsOfRowSQL rebuilds subscribers.tags of the row being updated from
	// subscriber_tags, sorted by tag.
	tagsOfRowSQL = `coalesce((SELECT array_agg(t.tag ORDER BY t.tag) FROM subscriber_tags t
	WHERE t.subscriber_id = subscribers.id AND t.app_id = subscribers.app_id), '{}')`
)

// Subscriber returns the app's subscriber with registrationID.
func (s *Store) Subscriber(ctx context.Context, appID, registrationID string) (store.Subscriber, error) {
	row := s.db.QueryRowContext(ctx, subSelect+` WHERE s.app_id = $1 AND s.registration_id = $2`, appID, registrationID)
	sub, err := scanSub(row, true)
	if err != nil {
		return store.Subscriber{}, fmt.Errorf("postgres: subscriber %s/%s: %w", appID, registrationID, classify(err))
	}
	return sub, nil
}

// UpdateSubscriber applies u in one transaction and returns the row after
// it. With Tags, Remove is applied before Add, so a tag named in both ends
// up set. An update that changes nothing leaves UpdatedAt alone.
func (s *Store) UpdateSubscriber(ctx context.Context, appID, registrationID string, u store.SubscriberUpdate) (store.Subscriber, error) {
	var out store.Subscriber
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		// FOR UPDATE: concurrent changes to one subscriber's tags queue.
		err := tx.QueryRowContext(ctx, `SELECT id FROM subscribers WHERE app_id = $1 AND registration_id = $2 FOR UPDATE`,
			appID, registrationID).Scan(&id)
		if err != nil {
			return classify(err)
		}
		if err := applyUpdate(ctx, tx, appID, id, u, s.now()); err != nil {
			return err
		}
		out, err = scanSub(tx.QueryRowContext(ctx, subSelect+` WHERE s.id = $1`, id), true)
		return err
	})
	if err != nil {
		return store.Subscriber{}, fmt.Errorf("postgres: update subscriber %s/%s: %w", appID, registrationID, err)
	}
	return out, nil
}

func applyUpdate(ctx context.Context, tx *sql.Tx, appID string, id int64, u store.SubscriberUpdate, now time.Time) error {
	var sets []string
	var args []any
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if u.Alias != nil {
		set("alias", *u.Alias)
	}
	if u.Language != nil {
		set("language", *u.Language)
	}
	if u.Timezone != nil {
		set("timezone", *u.Timezone)
	}
	if u.LastActiveAt != nil {
		set("last_active_at", sqlstore.ToMS(*u.LastActiveAt))
	}
	if u.LastClickedAt != nil {
		set("last_clicked_at", sqlstore.NullMS(*u.LastClickedAt))
	}
	if len(sets) == 0 && u.Tags == nil {
		return nil
	}
	set("updated_at", sqlstore.ToMS(now))
	args = append(args, id)
	q := `UPDATE subscribers SET ` + strings.Join(sets, ", ") + fmt.Sprintf(` WHERE id = $%d`, len(args))
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if u.Tags == nil {
		return nil
	}
	if u.Tags.Replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriber_tags WHERE subscriber_id = $1 AND app_id = $2`, id, appID); err != nil {
			return fmt.Errorf("clear tags: %w", err)
		}
	} else if len(u.Tags.Remove) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriber_tags
			WHERE app_id = $1 AND subscriber_id = $2 AND tag = ANY($3::text[])`,
			appID, id, u.Tags.Remove); err != nil {
			return fmt.Errorf("remove tags: %w", err)
		}
	}
	if add := normTags(u.Tags.Add); len(add) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO subscriber_tags (app_id, tag, subscriber_id)
			SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING`, appID, add, id); err != nil {
			return fmt.Errorf("add tags: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET tags = `+tagsOfRowSQL+` WHERE id = $1`, id); err != nil {
		return fmt.Errorf("copy tags: %w", err)
	}
	return nil
}

// DeleteSubscriber removes the app's subscriber with registrationID; its
// tags go with it (ON DELETE CASCADE).
func (s *Store) DeleteSubscriber(ctx context.Context, appID, registrationID string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM subscribers WHERE app_id = $1 AND registration_id = $2`,
		appID, registrationID)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: delete subscriber %s/%s: %w", appID, registrationID, err)
	}
	return nil
}

// scanSub reads subColumns, and with withTags the JSON tag array after
// them.
func scanSub(r scanner, withTags bool) (store.Subscriber, error) {
	var (
		sub                      store.Subscriber
		channel                  string
		created, updated, active int64
		clicked                  sql.NullInt64
		tags                     sql.NullString
	)
	dest := []any{&sub.ID, &sub.AppID, &sub.RegistrationID, &channel, &sub.Token,
		&sub.P256DH, &sub.Auth, &sub.Alias, &sub.Language, &sub.Timezone,
		&created, &updated, &active, &clicked}
	if withTags {
		dest = append(dest, &tags)
	}
	if err := r.Scan(dest...); err != nil {
		return store.Subscriber{}, err
	}
	sub.Channel = store.Channel(channel)
	sub.CreatedAt = sqlstore.FromMS(created)
	sub.UpdatedAt = sqlstore.FromMS(updated)
	sub.LastActiveAt = sqlstore.FromMS(active)
	sub.LastClickedAt = sqlstore.FromNullMS(clicked)
	if withTags && tags.String != "" && tags.String != "[]" {
		if err := json.Unmarshal([]byte(tags.String), &sub.Tags); err != nil {
			return store.Subscriber{}, fmt.Errorf("decode tags: %w", err)
		}
		slices.Sort(sub.Tags)
	}
	return sub, nil
}

// normTags returns tags sorted and without repeats, in a new non-nil slice.
func normTags(tags []string) []string {
	out := append([]string{}, tags...)
	slices.Sort(out)
	return slices.Compact(out)
}
