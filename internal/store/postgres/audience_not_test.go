package postgres

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// notPopulation stores 1,500 subscribers, four in five of app "a" (the
// others of "b", so that a's ids have gaps), each with 2–7 of 30 tags
// (t00 on about half, t29 on a few percent), and returns a's.
func notPopulation(t *testing.T, s *Store) []store.Subscriber {
	t.Helper()
	ctx := t.Context()
	for _, id := range []string{"a", "b"} {
		if err := s.CreateApp(ctx, store.App{ID: id, Name: id, APIKeyHash: []byte("key-" + id), EngageLabAppKey: "el-" + id}); err != nil {
			t.Fatalf("CreateApp: %v", err)
		}
	}
	r := rand.New(rand.NewPCG(8, 9))
	now := time.Now().Truncate(time.Millisecond)
	var batch []store.Subscriber
	for i := range 1500 {
		sub := store.Subscriber{AppID: "a", Channel: store.ChannelFCM, Token: fmt.Sprintf("tok-%04d", i),
			CreatedAt: now, UpdatedAt: now, LastActiveAt: now.Add(-time.Duration(r.IntN(60*24)) * time.Hour)}
		if i%5 == 4 {
			sub.AppID = "b"
		}
		for range 2 + r.IntN(6) {
			for {
				if k := r.IntN(30); r.IntN(k+2) < 2 {
					sub.Tags = append(sub.Tags, fmt.Sprintf("t%02d", k))
					break
				}
			}
		}
		batch = append(batch, sub)
	}
	if _, _, err := s.UpsertSubscribers(ctx, batch); err != nil {
		t.Fatalf("UpsertSubscribers: %v", err)
	}
	var subs []store.Subscriber
	for f := (store.SubscriberFilter{Limit: 500}); ; {
		page, err := s.ListSubscribers(ctx, "a", f)
		if err != nil {
			t.Fatalf("ListSubscribers: %v", err)
		}
		if len(page) == 0 {
			break
		}
		subs = append(subs, page...)
		f.AfterID = page[len(page)-1].ID
	}
	if len(subs) != 1200 {
		t.Fatalf("%d subscribers of a, want 1200", len(subs))
	}
	return subs
}

// notMembers returns the ids of the members of a (tags, tags_not and
// active since only) among subs, in order: the brute force.
func notMembers(subs []store.Subscriber, a store.Audience) []int64 {
	var ids []int64
	for _, s := range subs {
		has := func(list []string) bool {
			return slices.ContainsFunc(list, func(t string) bool { return slices.Contains(s.Tags, t) })
		}
		if (len(a.Tags) == 0 || has(a.Tags)) && !has(a.TagsNot) &&
			(a.ActiveSince.IsZero() || !s.LastActiveAt.Before(a.ActiveSince)) {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

func tagRange(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t%02d", from+i)
	}
	return out
}

// TestAudienceNotMerge checks the anti-join that drops a long tags NOT
// list (audience_not.go) against the brute force: each range it reads,
// and whole streams whatever spacing the page is told, from ranges that
// never hold a page (every page goes on by the row check) to ones far too
// long.
func TestAudienceNotMerge(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	subs := notPopulation(t, s)
	cases := []struct {
		name string
		a    store.Audience
	}{
		{"Or10Not20", store.Audience{Tags: tagRange(0, 10), TagsNot: tagRange(10, 20)}},
		{"Not20", store.Audience{TagsNot: tagRange(5, 20)}},
		{"ActiveNot10", store.Audience{ActiveSince: time.Now().Add(-30 * 24 * time.Hour), TagsNot: tagRange(8, 10)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := notMembers(subs, c.a)
			if len(want) < 50 || len(want) > len(subs)-50 {
				t.Fatalf("%d members of %d: the case tests little", len(want), len(subs))
			}
			p := compileAudience("a", c.a)
			if !p.mergeable(driver{}, 1) {
				t.Fatal("not mergeable")
			}
			// Each range: the members in (cursor, upto], at most n.
			for _, cursor := range []int64{0, subs[100].ID, subs[len(subs)/2].ID, subs[len(subs)-3].ID} {
				for _, n := range []int{1, 10, 400} {
					for _, per := range []float64{0.01, 1, 3, 50} {
						var got []int64
						found, last, upto, err := s.mergeChunk(ctx, &p, cursor, n, per, map[string]string{},
							func(r store.Recipient) bool { got = append(got, r.ID); return true })
						if err != nil {
							t.Fatalf("mergeChunk: %v", err)
						}
						var exp []int64
						for _, id := range want {
							if id > cursor && id <= upto && len(exp) < n {
								exp = append(exp, id)
							}
						}
						if !slices.Equal(got, exp) || found != len(exp) || (found > 0 && last != exp[found-1]) {
							t.Fatalf("cursor %d, n %d, per %v (upto %d): got %v (found %d, last %d), want %v",
								cursor, n, per, upto, got, found, last, exp)
						}
					}
				}
			}
			// Whole streams: each page told the spacing per (0: none).
			for _, per := range []float64{0, 0.01, 1, 2.5, 40} {
				for _, limit := range []int{1, 7, 100, 500} {
					var got []int64
					for after := int64(0); ; {
						if per > 0 {
							s.hints.setDense(p.key(), s.now())
							s.hints.setSpacing(p.key(), per, s.now())
						}
						page, err := s.AudiencePage(ctx, "a", c.a, after, limit)
						if err != nil {
							t.Fatalf("AudiencePage: %v", err)
						}
						for _, r := range page {
							got = append(got, r.ID)
						}
						if len(page) < limit {
							break
						}
						after = page[len(page)-1].ID
					}
					if !slices.Equal(got, want) {
						t.Fatalf("spacing %v, limit %d: streamed %d members, want %d\ngot  %v\nwant %v",
							per, limit, len(got), len(want), got, want)
					}
				}
			}
		})
	}
}

// TestMergeRange checks that a page's range covers the spacing it is
// given, with a margin, and never wraps past the largest id.
func TestMergeRange(t *testing.T) {
	if got := mergeRange(10, 100, 2); got < 10+200 || got > 10+300 {
		t.Errorf("mergeRange(10, 100, 2) = %d, want 210–310", got)
	}
	if got := mergeRange(math.MaxInt64-5, 100, 2); got != math.MaxInt64 {
		t.Errorf("mergeRange near the end = %d, want MaxInt64", got)
	}
}
