package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// bulkChunk is how many rows one bulk statement carries. Each column
// travels as one array parameter, so the statement's size is not bounded
// by PostgreSQL's 65,535 parameters; a chunk bounds the memory of one
// round trip instead.
const bulkChunk = 2000

// upsertManySQL upserts a chunk of rows passed as parallel arrays. The
// tags of a new row come from $14 (JSON arrays; NULL for none); an existing
// row's tags are left for the caller to replace, since ON CONFLICT cannot
// tell "keep" from "clear" through excluded.
const upsertManySQL = `INSERT INTO subscribers (app_id, registration_id, channel, token,
		p256dh, auth, alias, language, timezone,
		created_at, updated_at, last_active_at, last_clicked_at, tags)
	SELECT u.app_id, u.reg, u.channel, u.token, u.p256dh, u.auth, u.alias, u.language, u.timezone,
		u.created_at, u.updated_at, u.active, u.clicked,
		ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb))
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bytea[],
		$7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[],
		$13::bigint[], $14::text[]) WITH ORDINALITY
		AS u(app_id, reg, channel, token, p256dh, auth, alias, language, timezone,
			created_at, updated_at, active, clicked, tags, ord)
	ORDER BY u.ord
	ON CONFLICT (app_id, channel, token) DO UPDATE SET` + upsertSet + `
	RETURNING id, app_id, channel, token, xmax = 0`

// UpsertSubscribers upserts subs in order in one transaction, as
// UpsertSubscriber does each: if any row fails, none is stored. A token
// that appears twice counts as created once and updated once. Rows go in
// chunks of up to bulkChunk per statement; a chunk ends early where a
// token repeats, since one statement cannot change a row twice.
func (s *Store) UpsertSubscribers(ctx context.Context, subs []store.Subscriber) (created, updated int, err error) {
	if len(subs) == 0 {
		return 0, 0, nil
	}
	now := s.now()
	prepared := make([]store.Subscriber, len(subs))
	for i, sub := range subs {
		if prepared[i], err = prepare(sub, now); err != nil {
			return 0, 0, fmt.Errorf("postgres: upsert %d subscribers: row %d: %w", len(subs), i, err)
		}
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		created, updated = 0, 0
		for start := 0; start < len(prepared); {
			end := chunkEnd(prepared, start)
			c, u, err := upsertChunk(ctx, tx, prepared[start:end])
			if err != nil {
				return fmt.Errorf("rows %d to %d: %w", start, end-1, err)
			}
			created, updated = created+c, updated+u
			start = end
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: upsert %d subscribers: %w", len(subs), err)
	}
	return created, updated, nil
}

// subKey is a subscriber's identity for upserts.
type subKey struct {
	app, channel, token string
}

// chunkEnd returns where the chunk starting at start ends: after
// bulkChunk rows, or before the first row whose token the chunk already
// holds.
func chunkEnd(subs []store.Subscriber, start int) int {
	seen := make(map[subKey]bool, min(bulkChunk, len(subs)-start))
	end := start
	for end < len(subs) && end-start < bulkChunk {
		k := subKey{subs[end].AppID, string(subs[end].Channel), subs[end].Token}
		if seen[k] {
			break
		}
		seen[k] = true
		end++
	}
	return end
}

// upsertChunk writes rows whose tokens are distinct and replaces the tags
// of the existing ones that carry a tag set.
func upsertChunk(ctx context.Context, tx *sql.Tx, subs []store.Subscriber) (created, updated int, err error) {
	n := len(subs)
	var (
		apps, regs, channels, tokens = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		p256dh, auth                 = make([][]byte, n), make([][]byte, n)
		aliases, langs, zones        = make([]string, n), make([]string, n), make([]string, n)
		createdAt, updatedAt, active = make([]int64, n), make([]int64, n), make([]int64, n)
		clicked                      = make([]*int64, n)
		tags                         = make([]*string, n)
	)
	index := make(map[subKey]int, n)
	for i, sub := range subs {
		apps[i], regs[i], channels[i], tokens[i] = sub.AppID, sub.RegistrationID, string(sub.Channel), sub.Token
		if len(sub.P256DH) > 0 {
			p256dh[i] = sub.P256DH
		}
		if len(sub.Auth) > 0 {
			auth[i] = sub.Auth
		}
		aliases[i], langs[i], zones[i] = sub.Alias, sub.Language, sub.Timezone
		createdAt[i], updatedAt[i], active[i] = sqlstore.ToMS(sub.CreatedAt), sqlstore.ToMS(sub.UpdatedAt), sqlstore.ToMS(sub.LastActiveAt)
		if !sub.LastClickedAt.IsZero() {
			v := sqlstore.ToMS(sub.LastClickedAt)
			clicked[i] = &v
		}
		if sub.Tags != nil {
			j, err := json.Marshal(sub.Tags)
			if err != nil {
				return 0, 0, fmt.Errorf("encode tags: %w", err)
			}
			v := string(j)
			tags[i] = &v
		}
		index[subKey{sub.AppID, string(sub.Channel), sub.Token}] = i
	}
	rows, err := tx.QueryContext(ctx, upsertManySQL, apps, regs, channels, tokens, p256dh, auth,
		aliases, langs, zones, createdAt, updatedAt, active, clicked, tags)
	if err != nil {
		return 0, 0, classify(err)
	}
	// The tags to write: every new row's, and the replaced set of every
	// existing row that was given one.
	var (
		tagApps, tagSets []string
		tagIDs, clearIDs []int64
	)
	for rows.Next() {
		var id int64
		var k subKey
		var isNew bool
		if err := rows.Scan(&id, &k.app, &k.channel, &k.token, &isNew); err != nil {
			rows.Close()
			return 0, 0, err
		}
		i := index[k]
		if isNew {
			created++
		} else {
			updated++
		}
		if tags[i] == nil {
			continue
		}
		if !isNew {
			clearIDs = append(clearIDs, id)
		}
		if len(subs[i].Tags) > 0 {
			tagApps, tagSets, tagIDs = append(tagApps, k.app), append(tagSets, *tags[i]), append(tagIDs, id)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, classify(err)
	}
	if err := rows.Close(); err != nil {
		return 0, 0, err
	}
	if len(clearIDs) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriber_tags WHERE subscriber_id = ANY($1::bigint[])`, clearIDs); err != nil {
			return 0, 0, fmt.Errorf("clear tags: %w", err)
		}
		// The copy on the row: the new set, or empty when it is cleared.
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers s SET
			tags = ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb))
			FROM unnest($1::bigint[], $2::text[]) AS u(id, tags) WHERE s.id = u.id`,
			clearIDs, tagsOf(clearIDs, tagIDs, tagSets)); err != nil {
			return 0, 0, fmt.Errorf("copy tags: %w", err)
		}
	}
	if len(tagIDs) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO subscriber_tags (app_id, tag, subscriber_id)
			SELECT u.app_id, jsonb_array_elements_text(u.tags::jsonb), u.id
			FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(app_id, tags, id)
			ON CONFLICT DO NOTHING`, tagApps, tagSets, tagIDs); err != nil {
			return 0, 0, fmt.Errorf("add tags: %w", classify(err))
		}
	}
	return created, updated, nil
}

// tagsOf returns, for each id in ids, its tag set's JSON from the pairs
// (tagIDs, tagSets), or "[]" when it has none there.
func tagsOf(ids, tagIDs []int64, tagSets []string) []string {
	byID := make(map[int64]string, len(tagIDs))
	for i, id := range tagIDs {
		byID[id] = tagSets[i]
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		if v, ok := byID[id]; ok {
			out[i] = v
		} else {
			out[i] = "[]"
		}
	}
	return out
}
