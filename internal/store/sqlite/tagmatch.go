package sqlite

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/heraldpush/herald/internal/store"
)

// tagMatcher evaluates the tag part of a store.Audience against one
// subscriber's tag set: (any of or, or no or) ∧ (all of and) ∧ (none of
// not).
type tagMatcher struct {
	flags  map[string]uint8 // tag → its roles (flagOr | flagAnd | flagNot)
	nAnd   int              // distinct tags_and entries
	hasOr  bool
	active bool // the audience has a tag part at all
	lone   bool // the tag part is one tag that must be present, nothing else
	orOnly bool // the tag part is a tags OR list alone (no tags_and, no tags_not)
}

const (
	flagOr uint8 = 1 << iota
	flagAnd
	flagNot
)

func newTagMatcher(a store.Audience) tagMatcher {
	m := tagMatcher{flags: map[string]uint8{}}
	for _, t := range a.Tags {
		m.flags[t] |= flagOr
		m.hasOr = true
	}
	for _, t := range a.TagsAnd {
		if m.flags[t]&flagAnd == 0 {
			m.nAnd++
		}
		m.flags[t] |= flagAnd
	}
	for _, t := range a.TagsNot {
		m.flags[t] |= flagNot
	}
	m.active = len(m.flags) > 0
	m.lone = len(m.flags) == 1 && len(a.TagsNot) == 0
	m.orOnly = m.hasOr && len(a.TagsAnd) == 0 && len(a.TagsNot) == 0
	return m
}

// match reports whether the subscriber whose tags column (a JSON array of
// unique strings) is tagsJSON belongs to the audience's tag part, and
// whether it carries one of the tags OR list (as far as it was read: a
// tags_not tag stops the reading).
func (m *tagMatcher) match(tagsJSON string) (ok, orHit bool, err error) {
	if !m.active {
		return true, false, nil
	}
	anyOr, ands, not := false, 0, false
	err = eachTag(tagsJSON, func(tag string) bool {
		f := m.flags[tag]
		if f&flagNot != 0 {
			not = true // excluded: stop
			return false
		}
		if f&flagOr != 0 {
			anyOr = true
		}
		if f&flagAnd != 0 {
			ands++
		}
		return !(anyOr && m.orOnly) // an OR list alone is settled by one hit
	})
	return err == nil && !not && (anyOr || !m.hasOr) && ands == m.nAnd, anyOr, err
}

// matchList is match for a tag set already split into its tags (each
// once).
func (m *tagMatcher) matchList(tags []string) (ok, orHit bool) {
	if !m.active {
		return true, false
	}
	anyOr, ands := false, 0
	for _, t := range tags {
		f := m.flags[t]
		if f&flagNot != 0 {
			return false, anyOr
		}
		if f&flagOr != 0 {
			anyOr = true
		}
		if f&flagAnd != 0 {
			ands++
		}
	}
	return (anyOr || !m.hasOr) && ands == m.nAnd, anyOr
}

// splitTags appends the tags of a tags column (see eachTag) to buf.
func splitTags(tagsJSON string, buf []string) ([]string, error) {
	err := eachTag(tagsJSON, func(tag string) bool {
		buf = append(buf, tag)
		return true
	})
	return buf, err
}

var (
	errTagsJSON = errors.New("malformed tags column")
	errPacked   = errors.New("malformed packed chunk")
)

// eachTag calls fn with each string of a JSON array of strings, as
// SQLite's json_group_array and tagsJSON write them, until fn returns
// false. Strings without escapes are passed without copying.
func eachTag(s string, fn func(string) bool) error {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return errTagsJSON
	}
	s = s[1 : len(s)-1]
	for len(s) > 0 {
		if s[0] != '"' {
			return errTagsJSON
		}
		end := 1
		escaped := false
		for ; end < len(s) && s[end] != '"'; end++ {
			if s[end] == '\\' {
				escaped = true
				end++
			}
		}
		if end >= len(s) {
			return errTagsJSON
		}
		tag := s[1:end]
		if escaped {
			var err error
			if tag, err = unescapeJSON(tag); err != nil {
				return err
			}
		}
		if !fn(tag) {
			return nil
		}
		s = s[end+1:]
		if len(s) > 0 {
			if s[0] != ',' || len(s) == 1 {
				return errTagsJSON
			}
			s = s[1:]
		}
	}
	return nil
}

// unescapeJSON decodes the escapes of a JSON string's body. Other bytes are
// kept as they are (no UTF-8 check), as the tag table keeps them.
func unescapeJSON(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", errTagsJSON
		}
		switch s[i] {
		case '"', '\\', '/':
			b.WriteByte(s[i])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n, err := hexRune(s[i+1:])
			if err != nil {
				return "", err
			}
			i += n
			b.WriteRune(r)
		default:
			return "", errTagsJSON
		}
	}
	return b.String(), nil
}

// hexRune reads the XXXX of \uXXXX (and a low surrogate's \uXXXX after a
// high one), returning the rune and how many bytes it used.
func hexRune(s string) (rune, int, error) {
	if len(s) < 4 {
		return 0, 0, errTagsJSON
	}
	v, err := strconv.ParseUint(s[:4], 16, 16)
	if err != nil {
		return 0, 0, errTagsJSON
	}
	r := rune(v)
	if utf16.IsSurrogate(r) && len(s) >= 10 && s[4] == '\\' && s[5] == 'u' {
		if lo, err := strconv.ParseUint(s[6:10], 16, 16); err == nil {
			if d := utf16.DecodeRune(r, rune(lo)); d != utf8.RuneError {
				return d, 10, nil
			}
		}
	}
	return r, 4, nil
}

// tagsJSON encodes a sorted tag set for subscribers.tags as SQLite's
// json_group_array does: quotes, backslashes and control characters
// escaped, every other byte kept (no UTF-8 replacement).
func tagsJSON(tags []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, t := range tags {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for j := 0; j < len(t); j++ {
			switch c := t[j]; {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[c>>4])
				b.WriteByte("0123456789abcdef"[c&15])
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String()
}

// candidate is one subscriber read from a chunk.
type candidate struct {
	id      int64
	mask    uint64 // its nested conditions' bits (see compileNested)
	channel string
	tags    string
}

// unpack splits a chunk packed by packedColumns, appending to recs.
func unpack(s string, recs []candidate) ([]candidate, error) {
	for i := 0; i < len(s); {
		var nums [4]int64
		for k := range nums {
			start := i
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				nums[k] = nums[k]*10 + int64(s[i]-'0')
				i++
			}
			if i == start || i >= len(s) || s[i] != ' ' || i-start > 18 {
				return recs, errPacked
			}
			i++
		}
		chEnd := i + int(nums[2])
		end := chEnd + int(nums[3])
		if nums[2] > int64(len(s)) || nums[3] > int64(len(s)) || end > len(s) {
			return recs, errPacked
		}
		r := candidate{id: nums[0], mask: uint64(nums[1]), channel: s[i:chEnd], tags: s[chEnd:end]}
		if r.tags == "" {
			r.tags = "[]"
		}
		recs = append(recs, r)
		i = end
	}
	return recs, nil
}

// splitColumns splits a chunk read as columns (see columnsSQL) into recs;
// masks and tags may be empty (all zero, all "[]"). It reports false
// when the lists do not each hold rows entries.
func splitColumns(ids, channels, masks, tags string, rows int, recs []candidate) ([]candidate, bool) {
	if rows == 0 {
		return recs, ids == ""
	}
	for k := 0; k < rows; k++ {
		var r candidate
		var ok bool
		last := k == rows-1
		if r.id, ids, ok = cutNumber(ids, last); !ok {
			return recs, false
		}
		if masks != "" {
			var m int64
			if m, masks, ok = cutNumber(masks, last); !ok {
				return recs, false
			}
			r.mask = uint64(m)
		}
		if r.channel, channels, ok = cutField(channels, last); !ok {
			return recs, false
		}
		if tags == "" {
			r.tags = "[]"
		} else if r.tags, tags, ok = cutField(tags, last); !ok {
			return recs, false
		}
		recs = append(recs, r)
	}
	return recs, true
}

// cutNumber takes the next ","-separated decimal of s; last says it must
// be the final one.
func cutNumber(s string, last bool) (n int64, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] != ',' {
		c := s[i]
		if c < '0' || c > '9' || i > 18 {
			return 0, s, false
		}
		n = n*10 + int64(c-'0')
		i++
	}
	if i == 0 || (i == len(s)) != last {
		return 0, s, false
	}
	return n, s[min(i+1, len(s)):], true
}

// cutField takes the next char(30)-separated field of s; last says it
// must be the final one.
func cutField(s string, last bool) (field, rest string, ok bool) {
	i := strings.IndexByte(s, 0x1e)
	if last {
		return s, "", i < 0
	}
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}
