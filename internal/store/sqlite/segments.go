package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

const segmentColumns = `id, app_id, name, title, description, rules, created_at, updated_at`

func scanSegment(r scanner) (store.Segment, error) {
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
	seg.CreatedAt, seg.UpdatedAt = fromMS(created), fromMS(updated)
	return seg, nil
}

// CreateSegment inserts seg and returns it with its id and times.
func (s *Store) CreateSegment(ctx context.Context, seg store.Segment) (store.Segment, error) {
	rules, err := json.Marshal(seg.Rules)
	if err != nil {
		return store.Segment{}, fmt.Errorf("sqlite: create segment %q: %w", seg.Name, err)
	}
	now := s.now().Truncate(time.Millisecond).UTC()
	seg.CreatedAt, seg.UpdatedAt = now, now
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// An unknown app would pass the foreign key only when foreign keys
		// are off; check it so the error is ErrNotFound either way.
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM apps WHERE id = ?`, seg.AppID).Scan(&one); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO segments (app_id, name, title, description, rules, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			seg.AppID, seg.Name, seg.Title, seg.Description, string(rules), toMS(now), toMS(now)).Scan(&seg.ID)
	})
	if err != nil {
		return store.Segment{}, fmt.Errorf("sqlite: create segment %q of %s: %w", seg.Name, seg.AppID, classify(err))
	}
	return seg, nil
}

// Segment returns the app's segment called name.
func (s *Store) Segment(ctx context.Context, appID, name string) (store.Segment, error) {
	seg, err := scanSegment(s.db.QueryRowContext(ctx, `SELECT `+segmentColumns+` FROM segments WHERE app_id = ? AND name = ?`, appID, name))
	if err != nil {
		return store.Segment{}, fmt.Errorf("sqlite: segment %q of %s: %w", name, appID, classify(err))
	}
	return seg, nil
}

// SegmentByID returns the app's segment with id.
func (s *Store) SegmentByID(ctx context.Context, appID string, id int64) (store.Segment, error) {
	seg, err := scanSegment(s.db.QueryRowContext(ctx, `SELECT `+segmentColumns+` FROM segments WHERE app_id = ? AND id = ?`, appID, id))
	if err != nil {
		return store.Segment{}, fmt.Errorf("sqlite: segment %d of %s: %w", id, appID, classify(err))
	}
	return seg, nil
}

// ListSegments returns the app's segments by name.
func (s *Store) ListSegments(ctx context.Context, appID string) ([]store.Segment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+segmentColumns+` FROM segments WHERE app_id = ? ORDER BY name`, appID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: segments of %s: %w", appID, err)
	}
	defer rows.Close()
	out := []store.Segment{}
	for rows.Next() {
		seg, err := scanSegment(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: segments of %s: %w", appID, err)
		}
		out = append(out, seg)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: segments of %s: %w", appID, err)
	}
	return out, nil
}

// UpdateSegment replaces seg's name, title, description and rules.
func (s *Store) UpdateSegment(ctx context.Context, seg store.Segment) (store.Segment, error) {
	rules, err := json.Marshal(seg.Rules)
	if err != nil {
		return store.Segment{}, fmt.Errorf("sqlite: update segment %d: %w", seg.ID, err)
	}
	var out store.Segment
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanSegment(tx.QueryRowContext(ctx, `UPDATE segments SET name = ?, title = ?, description = ?, rules = ?, updated_at = ?
			WHERE app_id = ? AND id = ? RETURNING `+segmentColumns,
			seg.Name, seg.Title, seg.Description, string(rules), toMS(s.now()), seg.AppID, seg.ID))
		return err
	})
	if err != nil {
		return store.Segment{}, fmt.Errorf("sqlite: update segment %d of %s: %w", seg.ID, seg.AppID, classify(err))
	}
	return out, nil
}

// DeleteSegment removes the app's segment called name.
func (s *Store) DeleteSegment(ctx context.Context, appID, name string) error {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM segments WHERE app_id = ? AND name = ?`, appID, name)
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
		return fmt.Errorf("sqlite: delete segment %q of %s: %w", name, appID, classify(err))
	}
	return nil
}
