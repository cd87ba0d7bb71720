package sqlite

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// unionMember is store.Audience's definition in plain Go, as the store
// contract states it (storetest's brute force), for the tests below.
func unionMember(s store.Subscriber, a store.Audience) bool {
	has := func(tags []string) bool {
		return slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(s.Tags, t) })
	}
	anyOf := func(vals []string, v string) bool { return len(vals) == 0 || slices.Contains(vals, v) }
	switch {
	case !anyOf(a.Languages, s.Language), !anyOf(a.Aliases, s.Alias),
		len(a.Channels) > 0 && !slices.Contains(a.Channels, s.Channel),
		!a.ActiveSince.IsZero() && s.LastActiveAt.Before(a.ActiveSince),
		!a.ClickedSince.IsZero() && (s.LastClickedAt.IsZero() || s.LastClickedAt.Before(a.ClickedSince)),
		len(a.Tags) > 0 && !has(a.Tags), has(a.TagsNot),
		len(a.AnyOf) > 0 && !slices.ContainsFunc(a.AnyOf, func(sub store.Audience) bool { return unionMember(s, sub) }),
		slices.ContainsFunc(a.NoneOf, func(sub store.Audience) bool { return unionMember(s, sub) }):
		return false
	}
	for _, t := range a.TagsAnd {
		if !slices.Contains(s.Tags, t) {
			return false
		}
	}
	return true
}

// TestAudienceSparseAndNested checks, against the definition, the paths
// that the contract's small populations do not reach: a scan that finds
// its tags OR list sparse and reads the list's union through the tag table
// from there (a page, and a count, that changes driver midway), two
// common tags_and intersected, and
// nested expressions evaluated in Go from a mask, over a population of a
// few thousand with common and rare tags.
func TestAudienceSparseAndNested(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateApp(ctx, store.App{ID: "u", Name: "u", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	langs := []string{"en", "fa", "de"}
	var subs []store.Subscriber
	for i := range 3000 {
		sub := store.Subscriber{AppID: "u", RegistrationID: fmt.Sprintf("r-%d", i), Channel: store.ChannelFCM,
			Token: fmt.Sprintf("tok-%d", i), Language: langs[r.IntN(len(langs))], Timezone: "UTC",
			CreatedAt: now, UpdatedAt: now, LastActiveAt: now.Add(-time.Duration(r.IntN(100)) * time.Hour)}
		if r.IntN(4) == 0 {
			sub.LastClickedAt = sub.LastActiveAt
		}
		sub.Tags = []string{fmt.Sprintf("c%d", r.IntN(3)), fmt.Sprintf("d%d", r.IntN(2))} // common: a third, a half
		if r.IntN(20) == 0 {
			sub.Tags = append(sub.Tags, fmt.Sprintf("r%d", r.IntN(10))) // rare: 0.5% each
		}
		subs = append(subs, sub)
	}
	if _, _, err := s.UpsertSubscribers(ctx, subs); err != nil {
		t.Fatal(err)
	}
	for i := range subs {
		if err := s.db.QueryRowContext(ctx, `SELECT id FROM subscribers WHERE registration_id = ?`, subs[i].RegistrationID).Scan(&subs[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	rare := func(ks ...int) []string {
		out := make([]string, len(ks))
		for i, k := range ks {
			out[i] = fmt.Sprintf("r%d", k)
		}
		return out
	}
	since := now.Add(-50 * time.Hour)
	cases := []store.Audience{
		{Tags: rare(0, 1, 2, 3, 4, 5)},
		{Tags: rare(0, 1, 2, 3), TagsNot: []string{"c1"}},
		{Tags: rare(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), TagsAnd: []string{"c0"}, Languages: []string{"en", "de"}},
		{Tags: append(rare(3, 4), "c2"), TagsNot: rare(5)}, // common: the scan goes on
		{Tags: rare(2, 9), ActiveSince: since},
		{AnyOf: []store.Audience{{Tags: []string{"c0"}, ClickedSince: since}, {TagsAnd: []string{"c1", "r1"}}}},
		{Tags: []string{"c1", "c2"}, NoneOf: []store.Audience{{Tags: rare(0, 1, 2, 3, 4)}, {Languages: []string{"fa"}, TagsNot: []string{"c2"}}}},
		{ActiveSince: since, AnyOf: []store.Audience{{Tags: []string{"c0", "r1"}, ClickedSince: since},
			{Languages: []string{"en"}, ActiveSince: since.Add(20 * time.Hour)}},
			NoneOf: []store.Audience{{Tags: rare(2, 3)}, {Languages: []string{"de"}}}}, // SQL pre-filters
		{TagsAnd: []string{"c0", "d1"}}, // two common tags: intersected
		{TagsAnd: []string{"d0", "c2", "r4"}, Tags: []string{"r4", "c1"}},
		{TagsAnd: []string{"c1", "d0"}, TagsNot: rare(1, 2), Languages: []string{"fa"}},
		{Tags: rare(0, 1, 2, 3, 4, 5, 6), AnyOf: []store.Audience{{Languages: []string{"en"}}, {AnyOf: []store.Audience{{ActiveSince: since}}, NoneOf: []store.Audience{{Tags: []string{"c0"}}}}}},
	}
	// Both common, so the page intersects them (else the cases below
	// would not reach that path).
	p := compileAudience("u", store.Audience{TagsAnd: []string{"c0", "d1"}})
	if d, err := p.pickDriver(ctx, s.db, 0); err != nil || d.and == "" {
		t.Fatalf("pickDriver(c0 AND d1) = %+v, %v; want two tags intersected", d, err)
	}
	for i, a := range cases {
		var want []int64
		for _, sub := range subs {
			if unionMember(sub, a) {
				want = append(want, sub.ID)
			}
		}
		for _, limit := range []int{7, 100, 500} {
			var ids []int64
			after := int64(0)
			for {
				page, err := s.AudiencePage(ctx, "u", a, after, limit)
				if err != nil {
					t.Fatalf("case %d: %v", i, err)
				}
				for _, rec := range page {
					ids = append(ids, rec.ID)
					if rec.Channel != store.ChannelFCM || rec.Timezone != "UTC" {
						t.Fatalf("case %d: recipient %+v", i, rec)
					}
				}
				if len(page) < limit {
					break
				}
				after = page[len(page)-1].ID
			}
			if !slices.Equal(ids, want) {
				t.Errorf("case %d, pages of %d: %d members, want %d", i, limit, len(ids), len(want))
			}
		}
		if n, err := s.CountAudience(ctx, "u", a); err != nil || n != int64(len(want)) {
			t.Errorf("case %d: CountAudience = %d, %v; want %d", i, n, err, len(want))
		}
	}
}
