package sqlite

import (
	"strings"

	"github.com/heraldpush/herald/internal/store"
)

// matching checks candidates against a plan, reusing its buffer.
type matching struct {
	tags []string
}

// member reports whether candidate r belongs to p's audience (check: the
// top level's tag part must be checked) and whether it carries a tag of
// the tags OR list, and returns its time zone.
func (m *matching) member(p *audiencePlan, r candidate, check bool) (ok, orHit bool, tz string, err error) {
	_, tz, _ = strings.Cut(r.channel, "\x1f")
	if p.nest == nil {
		if !check {
			return true, true, tz, nil
		}
		ok, orHit, err = p.tags.match(r.tags)
		return ok, orHit, tz, err
	}
	if m.tags, err = splitTags(r.tags, m.tags[:0]); err != nil {
		return false, false, tz, err
	}
	ok, orHit = true, true
	if check {
		ok, orHit = p.tags.matchList(m.tags)
	}
	return ok && p.nest.root.match(r.mask, m.tags), orHit, tz, nil
}

// channelOf returns the channel, sharing the constants' strings so that a
// page does not keep its packed chunk alive.
func channelOf(ch string) store.Channel {
	for _, c := range []store.Channel{store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs} {
		if string(c) == ch {
			return c
		}
	}
	return store.Channel(strings.Clone(ch))
}

// zoneOf returns tz from zones, adding a copy of it when new, so that a
// page shares one string per time zone and keeps no chunk alive.
func zoneOf(zones map[string]string, tz string) string {
	if z, ok := zones[tz]; ok {
		return z
	}
	z := strings.Clone(tz)
	zones[z] = z
	return z
}
