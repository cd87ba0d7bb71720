package send

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/heraldpush/herald/internal/audience"
	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
)

// SegmentRef names a saved segment in a target: by Name (Herald's API,
// a JSON string) or by ID (Najva's segments_include, a JSON integer).
type SegmentRef struct {
	ID   int64
	Name string
}

// MarshalJSON writes the name as a string, or else the id as a number.
func (r SegmentRef) MarshalJSON() ([]byte, error) {
	if r.Name != "" {
		return json.Marshal(r.Name)
	}
	return json.Marshal(r.ID)
}

// parseSegmentRef reads one entry of to.segments or to.segments_exclude.
func parseSegmentRef(field string, raw json.RawMessage) (SegmentRef, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return SegmentRef{}, jsonreq.Fieldf(field, "is not a valid string")
		}
		if name == "" {
			return SegmentRef{}, jsonreq.Fieldf(field, "must not be empty")
		}
		return SegmentRef{Name: name}, nil
	}
	id, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || id <= 0 {
		return SegmentRef{}, jsonreq.Fieldf(field, "must be a segment name (string) or id (positive integer)")
	}
	return SegmentRef{ID: id}, nil
}

// SegmentSource finds an app's saved segments (the store).
type SegmentSource interface {
	Segment(ctx context.Context, appID, name string) (store.Segment, error)
	SegmentByID(ctx context.Context, appID string, id int64) (store.Segment, error)
}

// Option configures a Service.
type Option func(*Service)

// WithSegments lets the Service resolve to.segments and
// to.segments_exclude through src. Without it a target naming segments is
// refused.
func WithSegments(src SegmentSource) Option {
	return func(s *Service) { s.segments = src }
}

// errNoSegmentSource says a Service was built without WithSegments.
var errNoSegmentSource = errors.New("send: segments named but the service has no segment source")

// resolveSegments copies the named segments' rules, as of now, into a:
// included segments into AnyOf (a member of at least one), excluded into
// NoneOf. A name or id the app does not have is a field error.
func (s *Service) resolveSegments(ctx context.Context, appID string, t *Target, a *store.Audience, now time.Time) error {
	if len(t.Segments) == 0 && len(t.SegmentsExclude) == 0 {
		return nil
	}
	if s.segments == nil {
		return errNoSegmentSource
	}
	for _, l := range []struct {
		name string
		refs []SegmentRef
		into *[]store.Audience
	}{{"to.segments", t.Segments, &a.AnyOf}, {"to.segments_exclude", t.SegmentsExclude, &a.NoneOf}} {
		for i, ref := range l.refs {
			field := fmt.Sprintf("%s[%d]", l.name, i)
			var seg store.Segment
			var err error
			if ref.Name != "" {
				seg, err = s.segments.Segment(ctx, appID, ref.Name)
			} else {
				seg, err = s.segments.SegmentByID(ctx, appID, ref.ID)
			}
			switch {
			case errors.Is(err, store.ErrNotFound) && ref.Name != "":
				return jsonreq.Fieldf(field, "no segment named %q", clipName(ref.Name))
			case errors.Is(err, store.ErrNotFound):
				return jsonreq.Fieldf(field, "no segment with id %d", ref.ID)
			case err != nil:
				return fmt.Errorf("send: segment %s: %w", field, err)
			}
			*l.into = append(*l.into, seg.Rules.Audience(now))
		}
	}
	return nil
}

// validateSegmentRefs checks the segment lists' lengths.
func validateSegmentRefs(t Target) error {
	for _, l := range []struct {
		name string
		refs []SegmentRef
	}{{"to.segments", t.Segments}, {"to.segments_exclude", t.SegmentsExclude}} {
		if len(l.refs) > audience.MaxSegments {
			return jsonreq.Fieldf(l.name, "has %d entries, at most %d are allowed", len(l.refs), audience.MaxSegments)
		}
	}
	return nil
}

func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
