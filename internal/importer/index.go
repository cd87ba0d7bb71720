package importer

import (
	"context"
	"fmt"
	"hash/maphash"

	"github.com/heraldpush/herald/internal/store"
)

// index remembers, for every subscriber of the app, a hash of its channel
// and token and hashes of its values, so that a row can be judged
// unchanged without a query per row. About 48 bytes of data a subscriber
// (plus the map's overhead): a million subscribers cost some 60 MB, whatever
// the size of the file.
//
// Hashes are 64-bit: a row is wrongly judged unchanged (and not written)
// only if its token's hash and every differing value's hash both collide,
// far beyond 2^-64 per row. The map is filled by load and then used by
// the importing goroutine alone; key and stateOf only read the seed and
// may run anywhere.
type index struct {
	seed      maphash.Seed
	m         map[uint64]state
	emptyTags uint64 // the hash of no tags at all
}

// state is what a subscriber's values hash to. Zero means "not given" (an
// empty value, which keeps the stored one); no real value hashes to zero.
type state struct {
	alias, language, timezone, tags, keys uint64
}

func newIndex() *index {
	ix := &index{seed: maphash.MakeSeed(), m: make(map[uint64]state)}
	ix.emptyTags = ix.stateOf(store.Subscriber{Tags: []string{}}).tags
	return ix
}

// load reads every subscriber of appID into the index, a page at a time.
func (ix *index) load(ctx context.Context, st Lister, appID string) error {
	var after int64
	for {
		page, err := st.ListSubscribers(ctx, appID, store.SubscriberFilter{AfterID: after, Limit: pageSize})
		if err != nil {
			return fmt.Errorf("read the app's subscribers: %w", err)
		}
		for _, s := range page {
			st := ix.stateOf(s)
			if st.tags == 0 { // a stored row has a tag set, maybe empty
				st.tags = ix.emptyTags
			}
			ix.m[ix.key(s.Channel, s.Token)] = st
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// key identifies a subscriber as the store does: by channel and token.
func (ix *index) key(ch store.Channel, token string) uint64 {
	var h maphash.Hash
	h.SetSeed(ix.seed)
	h.WriteString(string(ch))
	h.WriteByte(0)
	h.WriteString(token)
	return h.Sum64()
}

// stateOf hashes s's values. Nil tags are "not given"; an empty non-nil set
// is a value (no tags).
func (ix *index) stateOf(s store.Subscriber) state {
	st := state{
		alias:    ix.str(s.Alias),
		language: ix.str(s.Language),
		timezone: ix.str(s.Timezone),
	}
	if s.Tags != nil {
		var h maphash.Hash
		h.SetSeed(ix.seed)
		h.WriteByte('t')
		for _, t := range s.Tags { // sorted and unique, by registry and store
			h.WriteString(t)
			h.WriteByte(0)
		}
		st.tags = nonZero(h.Sum64())
	}
	if len(s.P256DH) > 0 || len(s.Auth) > 0 {
		var h maphash.Hash
		h.SetSeed(ix.seed)
		h.Write(s.P256DH)
		h.WriteByte(0)
		h.Write(s.Auth)
		st.keys = nonZero(h.Sum64())
	}
	return st
}

func (ix *index) str(s string) uint64 {
	if s == "" {
		return 0
	}
	return nonZero(maphash.String(ix.seed, s))
}

func nonZero(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// apply judges a row against what is stored under key, records the row's
// effect, and reports whether it changes anything. Given values replace
// stored ones; values not given keep them, as the store's upsert does.
func (ix *index) apply(key uint64, row state) (changed bool) {
	old, ok := ix.m[key]
	if !ok {
		if row.tags == 0 { // inserted without tags: it has none
			row.tags = ix.emptyTags
		}
		ix.m[key] = row
		return true
	}
	merged := old
	keep := func(dst *uint64, v uint64) {
		if v != 0 {
			*dst = v
		}
	}
	keep(&merged.alias, row.alias)
	keep(&merged.language, row.language)
	keep(&merged.timezone, row.timezone)
	keep(&merged.tags, row.tags)
	keep(&merged.keys, row.keys)
	if merged == old {
		return false
	}
	ix.m[key] = merged
	return true
}
