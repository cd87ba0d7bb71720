package sqlite

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
// them; subSelect adds its tags as a JSON array, read through the
// (subscriber_id, app_id) index.
const (
	subColumns = `id, app_id, registration_id, channel, token, p256dh, auth,
	alias, language, timezone, created_at, updated_at, last_active_at, last_clicked_at`
	subSelect = `SELECT s.id, s.app_id, s.registration_id, s.channel, s.token,
	s.p256dh, s.auth, s.alias, s.language, s.timezone, s.created_at,
	s.updated_at, s.last_active_at, s.last_clicked_at,
	(SELECT json_group_array(t.tag) FROM subscriber_tags t
	  WHERE t.subscriber_id = s.id AND t.app_id = s.app_id)
	FROM subscribers s`
)

// Subscriber returns the app's subscriber with registrationID.
func (s *Store) Subscriber(ctx context.Context, appID, registrationID string) (store.Subscriber, error) {
	row := s.db.QueryRowContext(ctx, subSelect+` WHERE s.app_id = ? AND s.registration_id = ?`, appID, registrationID)
	sub, err := scanSub(row, true)
	if err != nil {
		return store.Subscriber{}, fmt.Errorf("sqlite: subscriber %s/%s: %w", appID, registrationID, classify(err))
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
		err := tx.QueryRowContext(ctx, `SELECT id FROM subscribers WHERE app_id = ? AND registration_id = ?`,
			appID, registrationID).Scan(&id)
		if err != nil {
			return classify(err)
		}
		if err := applyUpdate(ctx, tx, appID, id, u, s.now()); err != nil {
			return err
		}
		out, err = scanSub(tx.QueryRowContext(ctx, subSelect+` WHERE s.id = ?`, id), true)
		return err
	})
	if err != nil {
		return store.Subscriber{}, fmt.Errorf("sqlite: update subscriber %s/%s: %w", appID, registrationID, err)
	}
	return out, nil
}

func applyUpdate(ctx context.Context, tx *sql.Tx, appID string, id int64, u store.SubscriberUpdate, now time.Time) error {
	var sets []string
	var args []any
	set := func(col string, v any) {
		sets = append(sets, col+" = ?")
		args = append(args, v)
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
	if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if u.Tags == nil {
		return nil
	}
	if u.Tags.Replace {
		if _, err := tx.ExecContext(ctx, clearTagsSQL, id, appID); err != nil {
			return fmt.Errorf("clear tags: %w", err)
		}
	} else if len(u.Tags.Remove) > 0 {
		list, err := json.Marshal(u.Tags.Remove)
		if err != nil {
			return fmt.Errorf("remove tags: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriber_tags
			WHERE app_id = ? AND subscriber_id = ? AND tag IN (SELECT value FROM json_each(?))`,
			appID, id, string(list)); err != nil {
			return fmt.Errorf("remove tags: %w", err)
		}
	}
	for _, tag := range normTags(u.Tags.Add) {
		if _, err := tx.ExecContext(ctx, addTagSQL, appID, tag, id); err != nil {
			return fmt.Errorf("add tag: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET tags = `+tagsOfRowSQL+` WHERE id = ?`, id); err != nil {
		return fmt.Errorf("copy tags: %w", err)
	}
	return nil
}

// tagsOfRowSQL rebuilds subscribers.tags (migration 0004) of the row being
// updated from subscriber_tags, as a JSON array sorted by tag.
const tagsOfRowSQL = `(SELECT json_group_array(tag) FROM (SELECT t.tag FROM subscriber_tags t
	WHERE t.subscriber_id = subscribers.id AND t.app_id = subscribers.app_id ORDER BY t.tag))`

// DeleteSubscriber removes the app's subscriber with registrationID; its
// tags go with it (ON DELETE CASCADE).
func (s *Store) DeleteSubscriber(ctx context.Context, appID, registrationID string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM subscribers WHERE app_id = ? AND registration_id = ?`,
		appID, registrationID)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete subscriber %s/%s: %w", appID, registrationID, err)
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
		tagsJSON                 sql.NullString
	)
	dest := []any{&sub.ID, &sub.AppID, &sub.RegistrationID, &channel, &sub.Token,
		&sub.P256DH, &sub.Auth, &sub.Alias, &sub.Language, &sub.Timezone,
		&created, &updated, &active, &clicked}
	if withTags {
		dest = append(dest, &tagsJSON)
	}
	if err := r.Scan(dest...); err != nil {
		return store.Subscriber{}, err
	}
	sub.Channel = store.Channel(channel)
	sub.CreatedAt = sqlstore.FromMS(created)
	sub.UpdatedAt = sqlstore.FromMS(updated)
	sub.LastActiveAt = sqlstore.FromMS(active)
	sub.LastClickedAt = sqlstore.FromNullMS(clicked)
	if withTags && tagsJSON.String != "" && tagsJSON.String != "[]" {
		if err := json.Unmarshal([]byte(tagsJSON.String), &sub.Tags); err != nil {
			return store.Subscriber{}, fmt.Errorf("decode tags: %w", err)
		}
		slices.Sort(sub.Tags)
	}
	return sub, nil
}
