package storetest

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// testAudienceLists checks expressions at EngageLab's limits (20 tags in
// an OR, AND or NOT list) against the brute force, over a population big
// enough for the stores' choices between drivers to matter: OR lists of
// rare tags (read as the union of their tags' rows), of common ones
// (scanned), two or three common tags_and (intersected), one rare
// tags_and (driving), and twenty tags_not. The app's subscribers are
// interleaved with another app's, so ids have gaps.
func testAudienceLists(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	newApp(t, s, "a")
	newApp(t, s, "b")
	p := newRandomPopulation(3, ms(time.Now()))
	r := rand.New(rand.NewPCG(3, 4))
	// 40 common tags, tag k (1-based) drawn with weight 1/(k+2): the
	// first on a third or more, the last on a few percent; and 20 rare
	// ones (61 to 80), one on a subscriber in twenty.
	tag := func() string {
		for {
			k := 1 + r.IntN(40)
			if r.IntN(k+2) < 3 {
				return fmt.Sprintf("l%02d", k)
			}
		}
	}
	var subs []store.Subscriber
	for round := range 6 {
		batch := make([]store.Subscriber, 500)
		for i := range batch {
			batch[i] = p.subscriber("a", round*500+i)
			batch[i].Tags = nil
			for range 2 + r.IntN(6) {
				batch[i].Tags = append(batch[i].Tags, tag())
			}
			if r.IntN(20) == 0 {
				batch[i].Tags = append(batch[i].Tags, fmt.Sprintf("l%02d", 61+r.IntN(20)))
			}
		}
		if _, _, err := s.UpsertSubscribers(t.Context(), batch); err != nil {
			t.Fatalf("UpsertSubscribers: %v", err)
		}
		others := make([]store.Subscriber, 50)
		for i := range others {
			others[i] = p.subscriber("b", round*50+i)
			others[i].Tags = []string{"l01", "l02", "l79"}
		}
		if _, _, err := s.UpsertSubscribers(t.Context(), others); err != nil {
			t.Fatalf("UpsertSubscribers: %v", err)
		}
	}
	for f := (store.SubscriberFilter{Limit: 1000}); ; {
		page := mustList(t, s, "a", f)
		if len(page) == 0 {
			break
		}
		subs = append(subs, page...)
		f.AfterID = page[len(page)-1].ID
	}
	if len(subs) != 3000 {
		t.Fatalf("listed %d subscribers, want 3000", len(subs))
	}
	lists := func(from, step, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("l%02d", from+i*step)
		}
		return out
	}
	since := p.base.Add(-5 * 24 * time.Hour)
	cases := []struct {
		name string
		a    store.Audience
	}{
		{"Or20Rare", store.Audience{Tags: lists(61, 1, 20)}},
		{"Or20Common", store.Audience{Tags: lists(1, 1, 20)}},
		{"Or20Spread", store.Audience{Tags: lists(1, 4, 20)}},
		{"Or20RareActive", store.Audience{Tags: lists(61, 1, 20), ActiveSince: since}},
		{"Or20RareNot", store.Audience{Tags: lists(61, 1, 20), TagsNot: lists(1, 1, 3)}},
		{"And2Common", store.Audience{TagsAnd: lists(1, 1, 2)}},
		{"And3Common", store.Audience{TagsAnd: lists(1, 2, 3), Channels: []store.Channel{store.ChannelWebPush, store.ChannelFCM}}},
		{"AndCommonRare", store.Audience{TagsAnd: []string{"l01", "l70"}}},
		{"And20", store.Audience{TagsAnd: lists(1, 1, 20)}},
		{"Or20Not20", store.Audience{Tags: lists(1, 1, 20), TagsNot: lists(21, 1, 20)}},
		{"OrAndNot", store.Audience{Tags: lists(3, 1, 2), TagsAnd: lists(1, 1, 2), TagsNot: lists(5, 1, 2)}},
		{"Or20And3Not20", store.Audience{Tags: lists(1, 1, 20), TagsAnd: lists(1, 1, 3), TagsNot: lists(15, 1, 20)}},
		{"ActiveNot20", store.Audience{ActiveSince: since, TagsNot: lists(1, 4, 20)}},
		{"Or20RareInSegments", store.Audience{AnyOf: []store.Audience{{Tags: lists(61, 1, 20)}, {TagsAnd: lists(1, 1, 2), Languages: []string{"fa"}}},
			NoneOf: []store.Audience{{Tags: lists(70, 1, 3)}}}},
	}
	nonEmpty := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := wantAudience(subs, c.a)
			if len(want) > 0 {
				nonEmpty++
			}
			limits := []int{500, 37}
			if len(want) > 40*37 {
				limits = []int{500, 211}
			}
			checkAudience(t, s, "a", subs, c.a, limits...)
		})
	}
	if nonEmpty < len(cases)-2 {
		t.Errorf("only %d of %d expressions matched anyone; the population needs tuning", nonEmpty, len(cases))
	}
}
