package audience

import (
	"fmt"
	"strings"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
)

// The limits of a target expression. EngageLab documents the first three;
// the others bound what one request can ask the store to match.
const (
	MaxRegistrationIDs = 1000 // EngageLab: registration_id, ≤ 1000 per call
	MaxTagsAnd         = 20   // EngageLab: tag_and, ≤ 20
	MaxTagsNot         = 20   // EngageLab: tag_not, ≤ 20
	MaxTags            = 1000 // tag OR: no stated EngageLab limit; bounded here
	MaxAliases         = 1000 // alias: no stated EngageLab limit; bounded here
	MaxLanguages       = 100
	MaxTimezones       = 100
	// MaxValueLen bounds one value in bytes (a tag, an alias, an id).
	MaxValueLen = 2048
)

// Field is the JSON path under which a request carries its target.
const Field = "to"

// Validate checks a against the limits above. An empty list counts as
// absent. It returns nil or a *jsonreq.FieldError naming the field, such
// as "to.tags_and" (too many) or "to.tags[2]" (an empty value):
//
//   - each list is within its limit, and its values are non-empty, not
//     only spaces, and at most MaxValueLen bytes;
//   - channels are webpush, fcm or apns;
//   - tags_not is never alone: it needs another non-empty part
//     (registration ids, tags, tags_and, aliases, languages, time zones,
//     channels or active_since), so that "everyone but" is always
//     asked for explicitly.
//
// The zero Audience (every subscriber) is valid: whether a request may
// send to everyone is its caller's rule ("all" in the API).
func Validate(a store.Audience) error {
	lists := []struct {
		name string
		vals []string
		max  int
	}{
		{"registration_ids", a.RegistrationIDs, MaxRegistrationIDs},
		{"tags", a.Tags, MaxTags},
		{"tags_and", a.TagsAnd, MaxTagsAnd},
		{"tags_not", a.TagsNot, MaxTagsNot},
		{"aliases", a.Aliases, MaxAliases},
		{"languages", a.Languages, MaxLanguages},
		{"timezones", a.Timezones, MaxTimezones},
	}
	for _, l := range lists {
		if err := checkList(l.name, l.vals, l.max); err != nil {
			return err
		}
	}
	if len(a.Channels) > 3 {
		return jsonreq.Fieldf(Field+".channels", "has %d entries, at most 3 are allowed", len(a.Channels))
	}
	for i, c := range a.Channels {
		switch c {
		case store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs:
		default:
			return jsonreq.Fieldf(fmt.Sprintf("%s.channels[%d]", Field, i), "must be webpush, fcm or apns, got %q", clip(string(c)))
		}
	}
	others := len(a.RegistrationIDs) + len(a.Tags) + len(a.TagsAnd) + len(a.Aliases) +
		len(a.Languages) + len(a.Timezones) + len(a.Channels)
	if len(a.TagsNot) > 0 && others == 0 && a.ActiveSince.IsZero() {
		return jsonreq.Fieldf(Field+".tags_not", "cannot be used alone: combine it with another target")
	}
	return nil
}

func checkList(name string, vals []string, max int) error {
	if len(vals) > max {
		return jsonreq.Fieldf(Field+"."+name, "has %d entries, at most %d are allowed", len(vals), max)
	}
	for i, v := range vals {
		switch {
		case strings.TrimSpace(v) == "":
			return jsonreq.Fieldf(fmt.Sprintf("%s.%s[%d]", Field, name, i), "must not be empty")
		case len(v) > MaxValueLen:
			return jsonreq.Fieldf(fmt.Sprintf("%s.%s[%d]", Field, name, i), "is longer than %d bytes", MaxValueLen)
		}
	}
	return nil
}

// clip shortens a value quoted back in an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
