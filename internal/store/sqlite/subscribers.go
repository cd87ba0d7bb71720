package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/store"
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

// The statements of an upsert, prepared once on the pool. Each transaction
// binds them with tx.StmtContext, which reuses the statement already
// prepared on that connection.
const (
	findSQL = `SELECT id FROM subscribers WHERE app_id = ? AND channel = ? AND token = ?`
	// On conflict, empty values keep what is stored (see UpsertSubscriber),
	// the last activity and click never move backwards, and created_at,
	// id and registration_id stay.
	upsertSQL = `INSERT INTO subscribers (app_id, registration_id, channel, token,
		p256dh, auth, alias, language, timezone,
		created_at, updated_at, last_active_at, last_clicked_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (app_id, channel, token) DO UPDATE SET
		p256dh = coalesce(excluded.p256dh, p256dh),
		auth = coalesce(excluded.auth, auth),
		alias = CASE WHEN excluded.alias <> '' THEN excluded.alias ELSE alias END,
		language = CASE WHEN excluded.language <> '' THEN excluded.language ELSE language END,
		timezone = CASE WHEN excluded.timezone <> '' THEN excluded.timezone ELSE timezone END,
		updated_at = excluded.updated_at,
		last_active_at = max(last_active_at, excluded.last_active_at),
		last_clicked_at = coalesce(max(last_clicked_at, excluded.last_clicked_at),
			last_clicked_at, excluded.last_clicked_at)
	RETURNING ` + subColumns
	clearTagsSQL = `DELETE FROM subscriber_tags WHERE subscriber_id = ? AND app_id = ?`
	addTagSQL    = `INSERT INTO subscriber_tags (app_id, tag, subscriber_id) VALUES (?, ?, ?)
	ON CONFLICT DO NOTHING`
	tagsOfSQL = `SELECT tag FROM subscriber_tags WHERE subscriber_id = ? AND app_id = ? ORDER BY tag`
)

type upsertStmts struct {
	find, upsert, clearTags, addTag, tagsOf *sql.Stmt
}

func (u *upsertStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&u.find, findSQL}, {&u.upsert, upsertSQL}, {&u.clearTags, clearTagsSQL},
		{&u.addTag, addTagSQL}, {&u.tagsOf, tagsOfSQL},
	} {
		st, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			u.close()
			return fmt.Errorf("prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

func (u *upsertStmts) close() {
	for _, st := range []*sql.Stmt{u.find, u.upsert, u.clearTags, u.addTag, u.tagsOf} {
		if st != nil {
			_ = st.Close() // closing a statement only frees memory
		}
	}
}

// bind returns the statements bound to tx.
func (u *upsertStmts) bind(ctx context.Context, tx *sql.Tx) *upsertStmts {
	return &upsertStmts{
		find:      tx.StmtContext(ctx, u.find),
		upsert:    tx.StmtContext(ctx, u.upsert),
		clearTags: tx.StmtContext(ctx, u.clearTags),
		addTag:    tx.StmtContext(ctx, u.addTag),
		tagsOf:    tx.StmtContext(ctx, u.tagsOf),
	}
}

// UpsertSubscriber inserts sub or updates the app's row with the same
// channel and token, in one transaction with its tags.
//
// On insert an empty RegistrationID is replaced by a random one (128 bits),
// and zero CreatedAt / LastActiveAt by the store's clock. On update the
// row keeps its ID, RegistrationID and CreatedAt; empty strings and byte
// slices in sub keep the stored value (a re-registration that omits the
// alias does not unbind it: UpdateSubscriber does that), LastActiveAt and
// LastClickedAt only move forward, and Tags follow the interface (nil
// keeps, non-nil replaces).
func (s *Store) UpsertSubscriber(ctx context.Context, sub store.Subscriber) (store.UpsertResult, error) {
	var res store.UpsertResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res.Subscriber, res.Created, err = upsertOne(ctx, s.stmts.bind(ctx, tx), sub, s.now(), true)
		return err
	})
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("sqlite: upsert subscriber: %w", err)
	}
	return res, nil
}

// UpsertSubscribers upserts subs in order in one transaction, as
// UpsertSubscriber does each: if any row fails, none is stored. A token
// that appears twice counts as created once and updated once.
func (s *Store) UpsertSubscribers(ctx context.Context, subs []store.Subscriber) (created, updated int, err error) {
	if len(subs) == 0 {
		return 0, 0, nil
	}
	now := s.now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		st := s.stmts.bind(ctx, tx)
		for i, sub := range subs {
			_, isNew, err := upsertOne(ctx, st, sub, now, false)
			if err != nil {
				return fmt.Errorf("row %d: %w", i, err)
			}
			if isNew {
				created++
			} else {
				updated++
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert %d subscribers: %w", len(subs), err)
	}
	return created, updated, nil
}

// upsertOne writes one subscriber with statements bound to a transaction.
// With readTags false the returned Tags are only set when sub.Tags was
// given (the bulk path does not need them).
func upsertOne(ctx context.Context, st *upsertStmts, sub store.Subscriber, now time.Time, readTags bool) (store.Subscriber, bool, error) {
	if sub.AppID == "" || sub.Channel == "" || sub.Token == "" {
		return store.Subscriber{}, false, errors.New("app id, channel and token are required")
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
	var existing int64
	err := st.find.QueryRowContext(ctx, sub.AppID, string(sub.Channel), sub.Token).Scan(&existing)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return store.Subscriber{}, false, fmt.Errorf("find: %w", err)
	}
	created := err != nil
	row := st.upsert.QueryRowContext(ctx, sub.AppID, sub.RegistrationID,
		string(sub.Channel), sub.Token, nullBytes(sub.P256DH), nullBytes(sub.Auth),
		sub.Alias, sub.Language, sub.Timezone,
		toMS(sub.CreatedAt), toMS(now), toMS(sub.LastActiveAt), nullMS(sub.LastClickedAt))
	out, err := scanSub(row, false)
	if err != nil {
		return store.Subscriber{}, false, classify(err)
	}
	switch {
	case sub.Tags != nil:
		out.Tags = normTags(sub.Tags)
		if err := replaceTags(ctx, st, out.AppID, out.ID, out.Tags, !created); err != nil {
			return store.Subscriber{}, false, err
		}
	case !created && readTags:
		if out.Tags, err = tagsOf(ctx, st, out.AppID, out.ID); err != nil {
			return store.Subscriber{}, false, err
		}
	}
	return out, created, nil
}

func replaceTags(ctx context.Context, st *upsertStmts, appID string, id int64, tags []string, clear bool) error {
	if clear {
		if _, err := st.clearTags.ExecContext(ctx, id, appID); err != nil {
			return fmt.Errorf("clear tags: %w", err)
		}
	}
	for _, tag := range tags {
		if _, err := st.addTag.ExecContext(ctx, appID, tag, id); err != nil {
			return fmt.Errorf("add tag: %w", classify(err))
		}
	}
	return nil
}

func tagsOf(ctx context.Context, st *upsertStmts, appID string, id int64) ([]string, error) {
	rows, err := st.tagsOf.QueryContext(ctx, id, appID)
	if err != nil {
		return nil, fmt.Errorf("read tags: %w", err)
	}
	defer rows.Close()
	var tags []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("read tags: %w", err)
		}
		tags = append(tags, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tags: %w", err)
	}
	return tags, nil
}

// normTags returns tags sorted and without repeats, in a new slice.
func normTags(tags []string) []string {
	out := slices.Clone(tags)
	slices.Sort(out)
	return slices.Compact(out)
}

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
		set("last_active_at", toMS(*u.LastActiveAt))
	}
	if len(sets) == 0 && u.Tags == nil {
		return nil
	}
	set("updated_at", toMS(now))
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
	return nil
}

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
	sub.CreatedAt = fromMS(created)
	sub.UpdatedAt = fromMS(updated)
	sub.LastActiveAt = fromMS(active)
	sub.LastClickedAt = fromNullMS(clicked)
	if withTags && tagsJSON.String != "" && tagsJSON.String != "[]" {
		if err := json.Unmarshal([]byte(tagsJSON.String), &sub.Tags); err != nil {
			return store.Subscriber{}, fmt.Errorf("decode tags: %w", err)
		}
		slices.Sort(sub.Tags)
	}
	return sub, nil
}
