package sqlite

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/heraldpush/herald/internal/store"
)

// Nested expressions: store.Audience.AnyOf and NoneOf, saved segments
// copied into a message.
//
// A nested expression becomes one SQL condition on subscribers s, tags
// included (json_each over s.tags, which subscribers_audience covers), so
// that it filters inside the same chunked scans as the rest: an included
// segment narrows the candidates, an excluded one drops them, and the
// stream stays in id order whatever the nesting. Where an included
// segment can simply be ANDed into the outer expression (one segment, no
// clash of OR lists), flatten does so first, so that its tags can drive
// the scan through the tag table instead of the app's whole range.

// flatten merges a lone AnyOf entry into a when the result means the
// same: AND lists concatenate, OR lists merge only when a's own is empty,
// and activity bounds take the later time.
func flatten(a store.Audience) store.Audience {
	if len(a.AnyOf) != 1 {
		return a
	}
	sub := a.AnyOf[0]
	if len(sub.AnyOf) > 0 || len(sub.NoneOf) > 0 {
		return a
	}
	orLists := [][2]int{
		{len(a.RegistrationIDs), len(sub.RegistrationIDs)}, {len(a.Tags), len(sub.Tags)},
		{len(a.Aliases), len(sub.Aliases)}, {len(a.Languages), len(sub.Languages)},
		{len(a.Timezones), len(sub.Timezones)}, {len(a.Channels), len(sub.Channels)},
	}
	for _, l := range orLists {
		if l[0] > 0 && l[1] > 0 {
			return a
		}
	}
	or := func(outer, inner []string) []string {
		if len(outer) > 0 {
			return outer
		}
		return inner
	}
	out := a
	out.AnyOf = nil
	out.RegistrationIDs = or(a.RegistrationIDs, sub.RegistrationIDs)
	out.Tags = or(a.Tags, sub.Tags)
	out.Aliases = or(a.Aliases, sub.Aliases)
	out.Languages = or(a.Languages, sub.Languages)
	out.Timezones = or(a.Timezones, sub.Timezones)
	if len(out.Channels) == 0 {
		out.Channels = sub.Channels
	}
	out.TagsAnd = append(slices.Clip(a.TagsAnd), sub.TagsAnd...)
	out.TagsNot = append(slices.Clip(a.TagsNot), sub.TagsNot...)
	if sub.ActiveSince.After(out.ActiveSince) {
		out.ActiveSince = sub.ActiveSince
	}
	if sub.ClickedSince.After(out.ClickedSince) {
		out.ClickedSince = sub.ClickedSince
	}
	return out
}

// nestedSQL appends to b (and args) the conditions of a's AnyOf and NoneOf.
func nestedSQL(b *strings.Builder, args []any, a store.Audience) []any {
	if len(a.AnyOf) > 0 {
		b.WriteString(" AND (")
		for i, sub := range a.AnyOf {
			if i > 0 {
				b.WriteString(" OR ")
			}
			args = condSQL(b, args, sub)
		}
		b.WriteString(")")
	}
	for _, sub := range a.NoneOf {
		b.WriteString(" AND NOT ")
		args = condSQL(b, args, sub)
	}
	return args
}

// condSQL appends to b one parenthesised condition that holds exactly for
// the members of a; it is never NULL, so NOT of it is its complement.
func condSQL(b *strings.Builder, args []any, a store.Audience) []any {
	b.WriteString("(1")
	list := func(vals []string) string {
		l, _ := json.Marshal(vals) // a []string always encodes
		return string(l)
	}
	in := func(col string, vals []string) {
		if len(vals) > 0 {
			b.WriteString(" AND " + col + " IN (SELECT value FROM json_each(?))")
			args = append(args, list(vals))
		}
	}
	in("s.registration_id", a.RegistrationIDs)
	in("s.alias", a.Aliases)
	in("s.language", a.Languages)
	in("s.timezone", a.Timezones)
	chs := make([]string, len(a.Channels))
	for i, c := range a.Channels {
		chs[i] = string(c)
	}
	in("s.channel", chs)
	if !a.ActiveSince.IsZero() {
		b.WriteString(" AND s.last_active_at >= ?")
		args = append(args, toMS(a.ActiveSince))
	}
	if !a.ClickedSince.IsZero() {
		b.WriteString(" AND s.last_clicked_at IS NOT NULL AND s.last_clicked_at >= ?")
		args = append(args, toMS(a.ClickedSince))
	}
	const tagsIn = `FROM json_each(s.tags) WHERE value IN (SELECT value FROM json_each(?))`
	if or := normTags(a.Tags); len(or) > 0 {
		b.WriteString(" AND EXISTS (SELECT 1 " + tagsIn + ")")
		args = append(args, list(or))
	}
	if and := normTags(a.TagsAnd); len(and) > 0 {
		b.WriteString(" AND (SELECT count(*) " + tagsIn + ") = ?")
		args = append(args, list(and), len(and))
	}
	if not := normTags(a.TagsNot); len(not) > 0 {
		b.WriteString(" AND NOT EXISTS (SELECT 1 " + tagsIn + ")")
		args = append(args, list(not))
	}
	args = nestedSQL(b, args, a)
	b.WriteString(")")
	return args
}
