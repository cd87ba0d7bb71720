package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// seed stores n subscribers of app with varied channels, tags, aliases,
// languages and activity, and returns them as stored, in id order.
//
//	channel   webpush, fcm, apns in turn
//	tags      "even" or "odd"; "three" when i%3 == 0; "all"
//	alias     "u<i/2>" (pairs share one); none when i%5 == 4
//	language  "en" when i%4 < 2, else "fa"
//	active    base - i hours
func seed(t *testing.T, s store.Store, appID string, n int, base time.Time) []store.Subscriber {
	t.Helper()
	channels := []store.Channel{store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs}
	var subs []store.Subscriber
	for i := range n {
		sub := device(appID, channels[i%3], fmt.Sprintf("%s-token-%d", appID, i))
		if sub.Channel == store.ChannelWebPush {
			sub = webpush(appID, i)
		}
		sub.Tags = []string{"all", "odd"}
		if i%2 == 0 {
			sub.Tags[1] = "even"
		}
		if i%3 == 0 {
			sub.Tags = append(sub.Tags, "three")
		}
		if i%5 != 4 {
			sub.Alias = fmt.Sprintf("u%d", i/2)
		}
		sub.Language = "en"
		if i%4 >= 2 {
			sub.Language = "fa"
		}
		sub.LastActiveAt = ms(base.Add(-time.Duration(i) * time.Hour))
		subs = append(subs, mustUpsert(t, s, sub))
	}
	return subs
}

// filterCases pairs each filter with the rule it applies to seed's rows.
func filterCases(base time.Time) []struct {
	name  string
	f     store.SubscriberFilter
	match func(store.Subscriber) bool
} {
	has := func(tag string) func(store.Subscriber) bool {
		return func(s store.Subscriber) bool { return slices.Contains(s.Tags, tag) }
	}
	since := base.Add(-4*time.Hour - 30*time.Minute)
	return []struct {
		name  string
		f     store.SubscriberFilter
		match func(store.Subscriber) bool
	}{
		{"All", store.SubscriberFilter{}, func(store.Subscriber) bool { return true }},
		{"Tag", store.SubscriberFilter{Tag: "three"}, has("three")},
		{"TagNobodyHas", store.SubscriberFilter{Tag: "nobody"}, has("nobody")},
		{"Alias", store.SubscriberFilter{Alias: "u2"}, func(s store.Subscriber) bool { return s.Alias == "u2" }},
		{"Channel", store.SubscriberFilter{Channel: store.ChannelFCM}, func(s store.Subscriber) bool { return s.Channel == store.ChannelFCM }},
		{"Language", store.SubscriberFilter{Language: "fa"}, func(s store.Subscriber) bool { return s.Language == "fa" }},
		{"ActiveSince", store.SubscriberFilter{ActiveSince: since}, func(s store.Subscriber) bool { return !s.LastActiveAt.Before(since) }},
		{"ActiveSinceIsInclusive", store.SubscriberFilter{ActiveSince: base.Add(-3 * time.Hour)},
			func(s store.Subscriber) bool { return !s.LastActiveAt.Before(base.Add(-3 * time.Hour)) }},
		{"TagAndChannelAndLanguage", store.SubscriberFilter{Tag: "even", Channel: store.ChannelWebPush, Language: "en"},
			func(s store.Subscriber) bool {
				return has("even")(s) && s.Channel == store.ChannelWebPush && s.Language == "en"
			}},
		{"TagAndAlias", store.SubscriberFilter{Tag: "odd", Alias: "u3"}, func(s store.Subscriber) bool { return has("odd")(s) && s.Alias == "u3" }},
		{"AliasAndActiveSince", store.SubscriberFilter{Alias: "u1", ActiveSince: base.Add(-2*time.Hour - time.Minute)},
			func(s store.Subscriber) bool {
				return s.Alias == "u1" && !s.LastActiveAt.Before(base.Add(-2*time.Hour-time.Minute))
			}},
	}
}

func testList(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Filters", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		base := ms(time.Now())
		subs := seed(t, s, "a", 30, base)
		for _, c := range filterCases(base) {
			t.Run(c.name, func(t *testing.T) {
				var want []store.Subscriber
				for _, sub := range subs {
					if c.match(sub) {
						want = append(want, sub)
					}
				}
				f := c.f
				f.Limit = 1000
				got := mustList(t, s, "a", f)
				if !slices.Equal(idsOf(got), idsOf(want)) {
					t.Fatalf("ids = %v, want %v", idsOf(got), idsOf(want))
				}
				for i := range got {
					checkSub(t, fmt.Sprintf("row %d", i), got[i], want[i])
				}
			})
		}
	})

	t.Run("CursorPagesInIDOrder", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		base := ms(time.Now())
		subs := seed(t, s, "a", 25, base)
		for _, c := range filterCases(base) {
			t.Run(c.name, func(t *testing.T) {
				var want []int64
				for _, sub := range subs {
					if c.match(sub) {
						want = append(want, sub.ID)
					}
				}
				var got []int64
				f := c.f
				f.Limit = 3
				for pages := 0; ; pages++ {
					if pages > len(subs) {
						t.Fatalf("cursor does not advance: %v so far", got)
					}
					page := mustList(t, s, "a", f)
					if len(page) > 3 {
						t.Fatalf("page of %d rows with Limit 3", len(page))
					}
					if len(page) == 0 {
						break
					}
					got = append(got, idsOf(page)...)
					f.AfterID = page[len(page)-1].ID
				}
				if !slices.Equal(got, want) {
					t.Errorf("paged ids = %v, want %v", got, want)
				}
			})
		}
	})

	t.Run("AfterLastIsEmpty", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		subs := seed(t, s, "a", 3, time.Now())
		if got := mustList(t, s, "a", store.SubscriberFilter{AfterID: subs[2].ID}); len(got) != 0 {
			t.Errorf("List after the last id = %v, want none", idsOf(got))
		}
		if got := mustList(t, s, "a", store.SubscriberFilter{AfterID: subs[0].ID}); !slices.Equal(idsOf(got), idsOf(subs[1:])) {
			t.Errorf("List after the first id = %v, want %v", idsOf(got), idsOf(subs[1:]))
		}
	})

	t.Run("DefaultAndMaximumLimit", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		batch := make([]store.Subscriber, 1005)
		for i := range batch {
			batch[i] = device("a", store.ChannelAPNs, fmt.Sprintf("apns-%04d", i))
		}
		if _, _, err := s.UpsertSubscribers(t.Context(), batch); err != nil {
			t.Fatalf("UpsertSubscribers: %v", err)
		}
		for _, c := range []struct{ limit, want int }{{0, 100}, {7, 7}, {1000, 1000}, {5000, 1000}} {
			got := mustList(t, s, "a", store.SubscriberFilter{Limit: c.limit})
			if len(got) != c.want {
				t.Errorf("Limit %d: %d rows, want %d", c.limit, len(got), c.want)
			}
			if !slices.IsSortedFunc(got, func(a, b store.Subscriber) int { return int(a.ID - b.ID) }) {
				t.Errorf("Limit %d: rows not in id order", c.limit)
			}
		}
	})
}

func testCount(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	newApp(t, s, "a")
	base := ms(time.Now())
	subs := seed(t, s, "a", 20, base)
	for _, c := range filterCases(base) {
		t.Run(c.name, func(t *testing.T) {
			var want int64
			for _, sub := range subs {
				if c.match(sub) {
					want++
				}
			}
			if got := mustCount(t, s, "a", c.f); got != want {
				t.Errorf("CountSubscribers = %d, want %d", got, want)
			}
			f := c.f
			f.AfterID, f.Limit = subs[len(subs)/2].ID, 1 // both ignored
			if got := mustCount(t, s, "a", f); got != want {
				t.Errorf("CountSubscribers with AfterID and Limit = %d, want %d (they are ignored)", got, want)
			}
		})
	}
	if got := mustCount(t, s, "empty-app", store.SubscriberFilter{}); got != 0 {
		t.Errorf("CountSubscribers(app with none) = %d, want 0", got)
	}
}
