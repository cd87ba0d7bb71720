package audience

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
)

// The limits of saved segments.
const (
	MaxSegments       = 20 // segments included, and excluded, by one target
	MaxSegmentNameLen = 64
	MaxTitleLen       = 200
	MaxDescriptionLen = 2000
	MaxWindow         = 366 * 24 * time.Hour // the longest "active within" window
)

var segmentNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidateSegmentName checks a segment's machine name: 1 to 64 letters,
// digits, "_", "-" or ".", starting with a letter or digit, so that it
// fits in a URL path (/v1/segments/{name}) unescaped.
func ValidateSegmentName(field, name string) error {
	if !segmentNameRE.MatchString(name) {
		return jsonreq.Fieldf(field, "must be 1 to %d letters, digits, _, - or ., starting with a letter or digit", MaxSegmentNameLen)
	}
	return nil
}

// ValidateSegmentText checks a segment's title and description.
func ValidateSegmentText(title, description string) error {
	for _, f := range []struct {
		name, v string
		max     int
	}{{"title", title, MaxTitleLen}, {"description", description, MaxDescriptionLen}} {
		if !utf8.ValidString(f.v) {
			return jsonreq.Fieldf(f.name, "is not valid UTF-8")
		}
		if n := utf8.RuneCountInString(f.v); n > f.max {
			return jsonreq.Fieldf(f.name, "has %d characters, at most %d are allowed", n, f.max)
		}
	}
	return nil
}

// ValidateRules checks segment rules with the limits of a target
// (Validate), naming fields under field ("rules.tags_and"). Unlike a
// target, rules may hold tags_not alone: a saved "everyone but the muted"
// is asked for explicitly when it is saved. Windows are 0 (no condition)
// or 1 hour to MaxWindow.
func ValidateRules(field string, r store.SegmentRules) error {
	a := store.Audience{Tags: r.Tags, TagsAnd: r.TagsAnd, TagsNot: r.TagsNot,
		Languages: r.Languages, Timezones: r.Timezones, Channels: r.Channels, ActiveSince: time.Unix(1, 0)}
	if err := Validate(a); err != nil {
		if fe, ok := err.(*jsonreq.FieldError); ok {
			fe.Field = field + strings.TrimPrefix(fe.Field, Field)
		}
		return err
	}
	for _, w := range []struct {
		name string
		d    time.Duration
	}{{"active_within", r.ActiveWithin}, {"clicked_within", r.ClickedWithin}} {
		if w.d != 0 && (w.d < time.Hour || w.d > MaxWindow) {
			return jsonreq.Fieldf(field+"."+w.name, "must be 1h to %dd", int(MaxWindow/(24*time.Hour)))
		}
	}
	return nil
}

// ParseWindow reads "<n>h" or "<n>d" (n a positive integer, no sign or
// leading zero), up to MaxWindow: how the API writes segments' "active
// within" and "clicked within" windows.
func ParseWindow(s string) (time.Duration, error) {
	bad := fmt.Errorf("must be a number of hours or days from 1h to %dd, like \"6h\" or \"7d\", got %q",
		int(MaxWindow/(24*time.Hour)), clip(s))
	if len(s) < 2 || s[0] < '1' || s[0] > '9' {
		return 0, bad
	}
	unit := time.Hour
	switch s[len(s)-1] {
	case 'h':
	case 'd':
		unit = 24 * time.Hour
	default:
		return 0, bad
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || n > int(MaxWindow/unit) {
		return 0, bad
	}
	return time.Duration(n) * unit, nil
}

// FormatWindow writes d as ParseWindow reads it: in days when it is a
// whole number of them, else in hours; "" for zero.
func FormatWindow(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
}

// RulesDoc is segment rules as the API and the admin UI write them: the
// lists of a target, and the windows as "6h" / "7d".
type RulesDoc struct {
	Tags          []string        `json:"tags,omitempty"`
	TagsAnd       []string        `json:"tags_and,omitempty"`
	TagsNot       []string        `json:"tags_not,omitempty"`
	Languages     []string        `json:"languages,omitempty"`
	Timezones     []string        `json:"timezones,omitempty"`
	Channels      []store.Channel `json:"channels,omitempty"`
	ActiveWithin  string          `json:"active_within,omitempty"`
	ClickedWithin string          `json:"clicked_within,omitempty"`
}

// Rules parses and validates d (ValidateRules), naming fields under field.
func (d RulesDoc) Rules(field string) (store.SegmentRules, error) {
	r := store.SegmentRules{Tags: d.Tags, TagsAnd: d.TagsAnd, TagsNot: d.TagsNot,
		Languages: d.Languages, Timezones: d.Timezones, Channels: d.Channels}
	var err error
	if d.ActiveWithin != "" {
		if r.ActiveWithin, err = ParseWindow(d.ActiveWithin); err != nil {
			return r, jsonreq.Fieldf(field+".active_within", "%s", err.Error())
		}
	}
	if d.ClickedWithin != "" {
		if r.ClickedWithin, err = ParseWindow(d.ClickedWithin); err != nil {
			return r, jsonreq.Fieldf(field+".clicked_within", "%s", err.Error())
		}
	}
	return r, ValidateRules(field, r)
}

// DocOf writes r as a RulesDoc.
func DocOf(r store.SegmentRules) RulesDoc {
	return RulesDoc{Tags: r.Tags, TagsAnd: r.TagsAnd, TagsNot: r.TagsNot, Languages: r.Languages,
		Timezones: r.Timezones, Channels: r.Channels,
		ActiveWithin: FormatWindow(r.ActiveWithin), ClickedWithin: FormatWindow(r.ClickedWithin)}
}
