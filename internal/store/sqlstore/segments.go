package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

const segmentColumns = `id, app_id, name, title, description, rules, created_at, updated_at`

func scanSegment(r Scanner) (store.Segment, error) {
	var (
		seg              store.Segment
		rules            string
		created, updated int64
	)
	if err := r.Scan(&seg.ID, &seg.AppID, &seg.Name, &seg.Title, &seg.Description, &rules, &created, &updated); err != nil {
		return store.Segment{}, err
	}
	if err := json.Unmarshal([]byte(rules), &seg.Rules); err != nil {
		return store.Segment{}, fmt.Errorf("decode rules: %w", err)
	}
	seg.CreatedAt, seg.UpdatedAt = FromMS(created), FromMS(updated)
	return seg, nil
}

// CreateSegment inserts seg and returns it with its id and times. An
// unknown app is store.ErrNotFound.
func (q *Queries) CreateSegment(ctx context.Context, seg store.Segment) (store.Segment, error) {
	rules, err := json.Marshal(seg.Rules)
	if err != nil {
		return store.Segment{}, fmt.Errorf("%s: create segment %q: %w", q.d.Name, seg.Name, err)
	}
	now := q.now().Truncate(time.Millisecond).UTC()
	seg.CreatedAt, seg.UpdatedAt = now, now
	err = q.write(ctx, func(tx *sql.Tx) error {
		// An unknown app would pass the foreign key only when foreign keys
		// are off (SQLite); check it so the error is ErrNotFound either way.
		var one int
		if err := tx.QueryRowContext(ctx, q.q(`SELECT 1 FROM apps WHERE id = ?`), seg.AppID).Scan(&one); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, q.q(`INSERT INTO segments (app_id, name, title, description, rules, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			seg.AppID, seg.Name, seg.Title, seg.Description, string(rules), ToMS(now), ToMS(now)).Scan(&seg.ID)
	})
	if err != nil {
		return store.Segment{}, fmt.Errorf("%s: create segment %q of %s: %w", q.d.Name, seg.Name, seg.AppID, q.d.Classify(err))
	}
	return seg, nil
}

// Segment returns the app's segment called name.
func (q *Queries) Segment(ctx context.Context, appID, name string) (store.Segment, error) {
	seg, err := scanSegment(q.db.QueryRowContext(ctx, q.q(`SELECT `+segmentColumns+` FROM segments WHERE app_id = ? AND name = ?`), appID, name))
	if err != nil {
		return store.Segment{}, fmt.Errorf("%s: segment %q of %s: %w", q.d.Name, name, appID, q.d.Classify(err))
	}
	return seg, nil
}

// SegmentByID returns the app's segment with id.
func (q *Queries) SegmentByID(ctx context.Context, appID string, id int64) (store.Segment, error) {
	seg, err := scanSegment(q.db.QueryRowContext(ctx, q.q(`SELECT `+segmentColumns+` FROM segments WHERE app_id = ? AND id = ?`), appID, id))
	if err != nil {
		return store.Segment{}, fmt.Errorf("%s: segment %d of %s: %w", q.d.Name, id, appID, q.d.Classify(err))
	}
	return seg, nil
}

// ListSegments returns the app's segments by name.
func (q *Queries) ListSegments(ctx context.Context, appID string) ([]store.Segment, error) {
	segs, err := collect(rowsOf(q.db.QueryContext(ctx, q.q(`SELECT `+segmentColumns+` FROM segments WHERE app_id = ? ORDER BY name`), appID)), scanSegment)
	if err != nil {
		return nil, fmt.Errorf("%s: segments of %s: %w", q.d.Name, appID, err)
	}
	return segs, nil
}

// UpdateSegment replaces seg's name, title, description and rules.
func (q *Queries) UpdateSegment(ctx context.Context, seg store.Segment) (store.Segment, error) {
	rules, err := json.Marshal(seg.Rules)
	if err != nil {
		return store.Segment{}, fmt.Errorf("%s: update segment %d: %w", q.d.Name, seg.ID, err)
	}
	var out store.Segment
	err = q.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanSegment(tx.QueryRowContext(ctx, q.q(`UPDATE segments SET name = ?, title = ?, description = ?, rules = ?, updated_at = ?
			WHERE app_id = ? AND id = ? RETURNING `+segmentColumns),
			seg.Name, seg.Title, seg.Description, string(rules), ToMS(q.now()), seg.AppID, seg.ID))
		return err
	})
	if err != nil {
		return store.Segment{}, fmt.Errorf("%s: update segment %d of %s: %w", q.d.Name, seg.ID, seg.AppID, q.d.Classify(err))
	}
	return out, nil
}

// DeleteSegment removes the app's segment called name.
func (q *Queries) DeleteSegment(ctx context.Context, appID, name string) error {
	var n int64
	err := q.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q.q(`DELETE FROM segments WHERE app_id = ? AND name = ?`), appID, name)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return fmt.Errorf("%s: delete segment %q of %s: %w", q.d.Name, name, appID, q.d.Classify(err))
	}
	return nil
}
