package store

import (
	"context"
	"time"
)

// Segment is a saved target expression of one app: a stable id (Najva's
// segments_include / segments_exclude name segments by id), a machine
// name unique per app (Herald's API names segments by it), a title and a
// description for people, and the rules.
type Segment struct {
	ID          int64
	AppID       string
	Name        string
	Title       string
	Description string
	Rules       SegmentRules
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// SegmentRules are a segment's conditions. Non-empty parts combine with
// AND, as in Audience; the zero value is every subscriber. The windows are
// relative ("active within the last 6 hours"): Audience turns them into
// times when a message is sent or a segment counted.
type SegmentRules struct {
	Tags      []string  `json:"tags,omitempty"`      // OR
	TagsAnd   []string  `json:"tags_and,omitempty"`  // AND
	TagsNot   []string  `json:"tags_not,omitempty"`  // NOT (any of)
	Languages []string  `json:"languages,omitempty"` // OR
	Timezones []string  `json:"timezones,omitempty"` // OR
	Channels  []Channel `json:"channels,omitempty"`  // OR
	// ActiveWithin keeps subscribers whose last activity is at most this
	// long ago; ClickedWithin those whose last click is. Zero: no condition.
	ActiveWithin  time.Duration `json:"active_within,omitempty"`
	ClickedWithin time.Duration `json:"clicked_within,omitempty"`
}

// Audience is the expression the rules mean at now.
func (r SegmentRules) Audience(now time.Time) Audience {
	a := Audience{Tags: r.Tags, TagsAnd: r.TagsAnd, TagsNot: r.TagsNot,
		Languages: r.Languages, Timezones: r.Timezones, Channels: r.Channels}
	if r.ActiveWithin > 0 {
		a.ActiveSince = now.Add(-r.ActiveWithin).Truncate(time.Millisecond)
	}
	if r.ClickedWithin > 0 {
		a.ClickedSince = now.Add(-r.ClickedWithin).Truncate(time.Millisecond)
	}
	return a
}

// Segments keeps an app's saved segments. A segment of another app is
// ErrNotFound, exactly as one that does not exist.
type Segments interface {
	// CreateSegment inserts seg (its ID and times are assigned) and returns
	// it as stored. ErrConflict if the app already has a segment with that
	// name; ErrNotFound if the app does not exist.
	CreateSegment(ctx context.Context, seg Segment) (Segment, error)
	// Segment returns the app's segment with that name.
	Segment(ctx context.Context, appID, name string) (Segment, error)
	// SegmentByID returns the app's segment with that id.
	SegmentByID(ctx context.Context, appID string, id int64) (Segment, error)
	// ListSegments returns the app's segments by name.
	ListSegments(ctx context.Context, appID string) ([]Segment, error)
	// UpdateSegment replaces the name, title, description and rules of the
	// app's segment seg.ID, stamps UpdatedAt and returns it as stored. The
	// id never changes. ErrConflict if the new name is another segment's.
	UpdateSegment(ctx context.Context, seg Segment) (Segment, error)
	// DeleteSegment removes the app's segment with that name. Messages
	// already sent to it keep their audience (it was copied into them).
	DeleteSegment(ctx context.Context, appID, name string) error
}
