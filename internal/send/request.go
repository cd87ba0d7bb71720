package send

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/jsonreq"
)

// Limits of the send API, after EngageLab's where it states them.
const (
	MaxRegistrationIDs = 1000
	MaxTagsAnd         = 20
	MaxTagsNot         = 20
	MaxTags            = 1000 // tag OR: not limited by EngageLab; bounded here
	MaxAliases         = 1000
	MaxSpreadMinutes   = 1440
	MaxTTL             = 28 * 24 * time.Hour // what push services keep at most
	DefaultTTL         = MaxTTL
	MaxIDLen           = 64 // dedup_id and request_id
	MaxTagPrefixLen    = 32 // Request.TagPrefix
	// ActiveWindow is what "all" means: subscribers active in the last 30
	// days (EngageLab's meaning), unless include_inactive is set.
	ActiveWindow = 30 * 24 * time.Hour
)

var (
	dedupRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	localTimeRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// Request is a send as Herald's API takes it (POST /v1/messages).
type Request struct {
	To              *Target         `json:"to"`
	Content         Content         `json:"content"`
	Data            json.RawMessage `json:"data,omitempty"`
	TTL             *int64          `json:"ttl,omitempty"` // seconds
	Urgency         string          `json:"urgency,omitempty"`
	Replace         string          `json:"replace,omitempty"`
	SendAt          *time.Time      `json:"send_at,omitempty"`
	SpreadMinutes   int             `json:"spread_minutes,omitempty"`
	LocalTime       string          `json:"local_time,omitempty"`
	DedupID         string          `json:"dedup_id,omitempty"`
	RequestID       string          `json:"request_id,omitempty"`
	CustomArgs      json.RawMessage `json:"custom_args,omitempty"`
	IncludeInactive bool            `json:"include_inactive,omitempty"`
	// TagPrefix, when Replace is empty, tags the notification TagPrefix
	// followed by the message's id, so a later send can replace it with
	// Replace: TagPrefix+id. Compat adapters set it (EngageLab's
	// override_msg_id); /v1 does not take it.
	TagPrefix string `json:"-"`
}

// Target is "all" or an object of target lists combined with AND. All may
// go with SegmentsExclude (Najva's "everyone not excluded"); JSON's "all"
// carries no lists.
type Target struct {
	All             bool
	RegistrationIDs []string `json:"registration_ids,omitempty"`
	Tags            []string `json:"tags,omitempty"`
	TagsAnd         []string `json:"tags_and,omitempty"`
	TagsNot         []string `json:"tags_not,omitempty"`
	Aliases         []string `json:"aliases,omitempty"`
	// Segments and SegmentsExclude name saved segments (by name or id): a
	// member must be in at least one of Segments and in none of
	// SegmentsExclude. JSON entries are names (strings) or ids (integers).
	Segments        []SegmentRef `json:"segments,omitempty"`
	SegmentsExclude []SegmentRef `json:"segments_exclude,omitempty"`
	Languages       []string     `json:"languages,omitempty"`
	Timezones       []string     `json:"timezones,omitempty"`
}

// UnmarshalJSON takes "all" or an object; unknown keys are refused.
func (t *Target) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '"' && b[0] != '{' {
		return jsonreq.Fieldf("to", `must be "all" or an object of targets`)
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != "all" {
			return jsonreq.Fieldf("to", `must be "all" or an object of targets, got %q`, s)
		}
		*t = Target{All: true}
		return nil
	}
	type plain Target
	var p struct {
		*plain
		// Segment lists are read raw, so that a bad entry is named with
		// its index.
		Segments        []json.RawMessage `json:"segments"`
		SegmentsExclude []json.RawMessage `json:"segments_exclude"`
	}
	p.plain = (*plain)(t)
	*t = Target{}
	if err := jsonreq.Unmarshal(b, &p, jsonreq.Options{}); err != nil {
		if pr, ok := err.(*jsonreq.Problem); ok && pr.Field != "" {
			// The embedded *plain is not a level of the JSON: drop its name.
			pr.Field = "to." + strings.TrimPrefix(pr.Field, "plain.")
			pr.Message = "to." + strings.TrimPrefix(pr.Message, "plain.")
		}
		return err
	}
	for _, l := range []struct {
		name string
		raw  []json.RawMessage
		into *[]SegmentRef
	}{{"to.segments", p.Segments, &t.Segments}, {"to.segments_exclude", p.SegmentsExclude, &t.SegmentsExclude}} {
		for i, raw := range l.raw {
			ref, err := parseSegmentRef(fmt.Sprintf("%s[%d]", l.name, i), raw)
			if err != nil {
				return err
			}
			*l.into = append(*l.into, ref)
		}
	}
	return nil
}

// Content is what a notification shows.
type Content struct {
	Title     string               `json:"title,omitempty"`
	Body      string               `json:"body,omitempty"`
	URL       string               `json:"url,omitempty"`
	Icon      string               `json:"icon,omitempty"`
	Image     string               `json:"image,omitempty"`
	Extras    map[string]any       `json:"extras,omitempty"`
	Languages map[string]Localized `json:"languages,omitempty"`
}

// Localized is one language's title and body.
type Localized struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	// Data, when set, replaces the request's Data for this language.
	// Compat adapters set it (EngageLab's multi_language translates
	// message.msg_content); /v1 does not take it.
	Data json.RawMessage `json:"-"`
}

// validateTarget checks the target lists and their limits.
func validateTarget(tp *Target) error {
	if tp == nil {
		return jsonreq.Fieldf("to", `is required: "all" or an object of targets`)
	}
	t := *tp
	lists := []struct {
		name string
		vals []string
		max  int
	}{
		{"registration_ids", t.RegistrationIDs, MaxRegistrationIDs},
		{"tags", t.Tags, MaxTags},
		{"tags_and", t.TagsAnd, MaxTagsAnd},
		{"tags_not", t.TagsNot, MaxTagsNot},
		{"aliases", t.Aliases, MaxAliases},
		{"languages", t.Languages, 100},
		{"timezones", t.Timezones, 100},
	}
	for _, l := range lists {
		if len(l.vals) > l.max {
			return jsonreq.Fieldf("to."+l.name, "has %d entries, at most %d are allowed", len(l.vals), l.max)
		}
		for i, v := range l.vals {
			if strings.TrimSpace(v) == "" {
				return jsonreq.Fieldf(fmt.Sprintf("to.%s[%d]", l.name, i), "must not be empty")
			}
			if len(v) > 2048 {
				return jsonreq.Fieldf(fmt.Sprintf("to.%s[%d]", l.name, i), "is too long")
			}
		}
	}
	if err := validateSegmentRefs(t); err != nil {
		return err
	}
	if t.All {
		return nil
	}
	positive := len(t.RegistrationIDs) + len(t.Tags) + len(t.TagsAnd) + len(t.Aliases) + len(t.Segments) + len(t.Languages) + len(t.Timezones)
	if positive == 0 && len(t.TagsNot) > 0 {
		return jsonreq.Fieldf("to.tags_not", "cannot be used alone: combine it with another target")
	}
	if positive == 0 && len(t.SegmentsExclude) == 0 {
		return jsonreq.Fieldf("to", `names no target: use "all" or give at least one non-empty list`)
	}
	return nil
}
