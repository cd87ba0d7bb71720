package postgres

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

// CreateSegment inserts seg and returns it with its id and times. An
// unknown app fails the foreign key: store.ErrNotFound.
func (s *Store) CreateSegment(ctx context.Context, seg store.Segment) (store.Segment, error) {
	rules, err := json.Marshal(seg.Rules)
	if err != nil {
		return store.Segment{}, fmt.Errorf("postgres: create segment %q: %w", seg.Name, err)
	}
	now := s.now().Truncate(time.Millisecond).UTC()
	seg.CreatedAt, seg.UpdatedAt = now, now
	err = s.db.QueryRowContext(ctx, `INSERT INTO segments (app_id, name, title, description, rules, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		seg.AppID, seg.Name, seg.Title, seg.Description, string(rules), toMS(now), toMS(now)).Scan(&seg.ID)
	if err != nil {
		return store.Segment{}, fmt.Errorf("postgres: create segment %q of %s: %w", seg.Name, seg.AppID, classify(err))
	}
	return seg, nil
}

// Segment returns the app's segment called name.
func (s *Store) Segment(ctx context.Context, appID, name string) (store.Segment, error) {
	seg, err := scanSegment(s.db.QueryRowContext(ctx, `SELECT `+segmentColumns+` FROM segments WHERE app_id = $1 AND name = $2`, appID, name))
	if err != nil {
		return store.Segment{}, fmt.Errorf("postgres: segment %q of %s: %w", name, appID, classify(err))
	}
	return seg, nil
}

// SegmentByID returns the app's segment with id.
func (s *Store) SegmentByID(ctx context.Context, appID string, id int64) (store.Segment, error) {
	seg, err := scanSegment(s.db.QueryRowContext(ctx, `SELECT `+segmentColumns+` FROM segments WHERE app_id = $1 AND id = $2`, appID, id))
	if err != nil {
		return store.Segment{}, fmt.Errorf("postgres: segment %d of %s: %w", id, appID, classify(err))
	}
	return seg, nil
}

// ListSegments returns the app's segments by name.
func (s *Store) ListSegments(ctx context.Context, appID string) ([]store.Segment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+segmentColumns+` FROM segments WHERE app_id = $1 ORDER BY name`, appID)
	if err != nil {
		return nil, fmt.Errorf("postgres: segments of %s: %w", appID, err)
	}
	defer rows.Close()
	out := []store.Segment{}
	for rows.Next() {
		seg, err := scanSegment(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: segments of %s: %w", appID, err)
		}
		out = append(out, seg)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: segments of %s: %w", appID, err)
	}
	return out, nil
}

// UpdateSegment replaces seg's name, title, description and rules.
func (s *Store) UpdateSegment(ctx context.Context, seg store.Segment) (store.Segment, error) {
	rules, err := json.Marshal(seg.Rules)
	if err != nil {
		return store.Segment{}, fmt.Errorf("postgres: update segment %d: %w", seg.ID, err)
	}
	out, err := scanSegment(s.db.QueryRowContext(ctx, `UPDATE segments SET name = $1, title = $2, description = $3, rules = $4, updated_at = $5
		WHERE app_id = $6 AND id = $7 RETURNING `+segmentColumns,
		seg.Name, seg.Title, seg.Description, string(rules), toMS(s.now()), seg.AppID, seg.ID))
	if err != nil {
		return store.Segment{}, fmt.Errorf("postgres: update segment %d of %s: %w", seg.ID, seg.AppID, classify(err))
	}
	return out, nil
}

// DeleteSegment removes the app's segment called name.
func (s *Store) DeleteSegment(ctx context.Context, appID, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM segments WHERE app_id = $1 AND name = $2`, appID, name)
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = sql.ErrNoRows
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: delete segment %q of %s: %w", name, appID, classify(err))
	}
	return nil
}
