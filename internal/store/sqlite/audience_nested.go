package sqlite

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// Nested expressions: store.Audience.AnyOf and NoneOf, saved segments
// copied into a message.
//
// Where an included segment can simply be ANDed into the outer
// expression (one segment, no clash of OR lists), flatten does so first,
// so that its tags can drive the scan through the tag table instead of
// the app's whole range. Otherwise each nested expression is split like
// the top level: SQL evaluates its own column conditions (channel,
// language, activity, …) into one bit of a per-row mask, which the
// candidate carries, and Go combines the bits with
// each expression's tag part, checked by a tagMatcher against the
// candidate's tag set (nestNode.match). The mask comes back as a column
// of its own: an integer costs SQLite no copy, where each string
// appended to the channel cost an allocation per row. The nesting thus filters inside
// the same chunked scans as the rest, and the stream stays in id order.
// Evaluating nested tags in SQL instead (json_each over s.tags, which
// condSQL still does for trees of more than maxMaskBits expressions)
// cost 0.6–1.6 s of CPU per million subscribers, against 0.1–0.2 s here.

// maxMaskBits is how many nested expressions one mask can carry: an
// SQLite integer has 64 bits and the mask stays positive.
const maxMaskBits = 63

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

// nestNode is one nested expression, evaluated in Go.
type nestNode struct {
	bit    int // the mask bit of its own column conditions; -1: it has none
	tags   tagMatcher
	anyOf  []*nestNode
	noneOf []*nestNode
}

// nestPlan evaluates the AnyOf and NoneOf of an audience in Go.
type nestPlan struct {
	root     nestNode // the top level's nesting (its own parts are the plan's)
	mask     string   // SQL expression of the row's mask ("": no bits)
	args     []any    // mask's arguments
	needTags bool     // some nested expression has a tag part
	// filter (" AND …", with filterArgs) holds for every member, so that
	// SQL drops most other candidates before they are read out: one of
	// the AnyOf entries' column conditions, when each has some, and the
	// complement of each NoneOf entry that is column conditions alone.
	filter     string
	filterArgs []any
}

// compileNested returns the plan of a's nesting, or nil when a has none
// or it needs more than maxMaskBits bits (then nestedSQL evaluates it).
func compileNested(a store.Audience) *nestPlan {
	if len(a.AnyOf) == 0 && len(a.NoneOf) == 0 {
		return nil
	}
	np := &nestPlan{root: nestNode{bit: -1}}
	var b strings.Builder
	bits := 0
	var anyConds []string
	var anyArgs []any
	var build func(n *nestNode, a store.Audience) bool
	build = func(n *nestNode, a store.Audience) bool {
		for _, subs := range []struct {
			list []store.Audience
			into *[]*nestNode
		}{{a.AnyOf, &n.anyOf}, {a.NoneOf, &n.noneOf}} {
			for _, sub := range subs.list {
				c := &nestNode{bit: -1, tags: newTagMatcher(sub)}
				np.needTags = np.needTags || c.tags.active
				var cond strings.Builder
				nArgs := len(np.args)
				if np.args = ownCondSQL(&cond, np.args, sub); cond.Len() > 0 {
					if n == &np.root {
						own := np.args[nArgs:]
						if subs.into == &n.anyOf {
							anyConds = append(anyConds, "(1"+cond.String()+")")
							anyArgs = append(anyArgs, own...)
						} else if !c.tags.active && len(sub.AnyOf) == 0 && len(sub.NoneOf) == 0 {
							np.filter += " AND NOT (1" + cond.String() + ")"
							np.filterArgs = append(np.filterArgs, own...)
						}
					}
					if bits == maxMaskBits {
						return false
					}
					c.bit = bits
					if bits > 0 {
						b.WriteString(" + ")
					}
					// A condition is 0 or 1 (never NULL: see ownCondSQL).
					b.WriteString("(1" + cond.String() + ")*" + strconv.FormatInt(int64(1)<<bits, 10))
					bits++
				}
				if !build(c, sub) {
					return false
				}
				*subs.into = append(*subs.into, c)
			}
		}
		return true
	}
	if !build(&np.root, a) {
		return nil
	}
	np.mask = b.String()
	if len(anyConds) > 0 && len(anyConds) == len(np.root.anyOf) {
		np.filter += " AND (" + strings.Join(anyConds, " OR ") + ")"
		np.filterArgs = append(np.filterArgs, anyArgs...)
	}
	return np
}

// match reports whether a candidate whose mask is mask and whose tag set
// is tags (each tag once) belongs to n: its own conditions, its tag
// part, any of anyOf (when there are some) and none of noneOf.
func (n *nestNode) match(mask uint64, tags []string) bool {
	if n.bit >= 0 && mask&(1<<n.bit) == 0 {
		return false
	}
	if ok, _ := n.tags.matchList(tags); !ok {
		return false
	}
	if len(n.anyOf) > 0 && !slices.ContainsFunc(n.anyOf, func(c *nestNode) bool { return c.match(mask, tags) }) {
		return false
	}
	return !slices.ContainsFunc(n.noneOf, func(c *nestNode) bool { return c.match(mask, tags) })
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

// sqlList is vals as a JSON array, for json_each(?).
func sqlList(vals []string) string {
	l, _ := json.Marshal(vals) // a []string always encodes
	return string(l)
}

// ownCondSQL appends to b " AND …" for each condition of a on the
// subscriber's own columns (not tags, not nesting). Together they are
// never NULL, so that NOT of them is their complement.
func ownCondSQL(b *strings.Builder, args []any, a store.Audience) []any {
	in := func(col string, vals []string) {
		if len(vals) > 0 {
			b.WriteString(" AND " + col + " IN (SELECT value FROM json_each(?))")
			args = append(args, sqlList(vals))
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
		args = append(args, sqlstore.ToMS(a.ActiveSince))
	}
	if !a.ClickedSince.IsZero() {
		b.WriteString(" AND s.last_clicked_at IS NOT NULL AND s.last_clicked_at >= ?")
		args = append(args, sqlstore.ToMS(a.ClickedSince))
	}
	return args
}

// condSQL appends to b one parenthesised condition that holds exactly for
// the members of a, tags through json_each over s.tags; it is never NULL,
// so NOT of it is its complement.
func condSQL(b *strings.Builder, args []any, a store.Audience) []any {
	b.WriteString("(1")
	args = ownCondSQL(b, args, a)
	const tagsIn = `FROM json_each(s.tags) WHERE value IN (SELECT value FROM json_each(?))`
	if or := normTags(a.Tags); len(or) > 0 {
		b.WriteString(" AND EXISTS (SELECT 1 " + tagsIn + ")")
		args = append(args, sqlList(or))
	}
	if and := normTags(a.TagsAnd); len(and) > 0 {
		b.WriteString(" AND (SELECT count(*) " + tagsIn + ") = ?")
		args = append(args, sqlList(and), len(and))
	}
	if not := normTags(a.TagsNot); len(not) > 0 {
		b.WriteString(" AND NOT EXISTS (SELECT 1 " + tagsIn + ")")
		args = append(args, sqlList(not))
	}
	args = nestedSQL(b, args, a)
	b.WriteString(")")
	return args
}
