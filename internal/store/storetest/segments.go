package storetest

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// testSegments checks saved segments: names unique per app, ids stable,
// another app's segment invisible, rules kept exactly.
func testSegments(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	newApp(t, s, "a")
	newApp(t, s, "b")
	rules := store.SegmentRules{
		Tags: []string{"news", "sport"}, TagsAnd: []string{"fa"}, TagsNot: []string{"muted"},
		Languages: []string{"fa"}, Timezones: []string{"Asia/Tehran"}, Channels: []store.Channel{store.ChannelWebPush},
		ActiveWithin: 6 * time.Hour, ClickedWithin: 7 * 24 * time.Hour,
	}
	before := time.Now().Add(-time.Second)
	hot, err := s.CreateSegment(ctx, store.Segment{AppID: "a", Name: "hot", Title: "Clicked lately", Description: "d", Rules: rules})
	if err != nil {
		t.Fatalf("CreateSegment: %v", err)
	}
	if hot.ID <= 0 || hot.CreatedAt.Before(before) || !hot.UpdatedAt.Equal(hot.CreatedAt) {
		t.Errorf("created %+v: want an id and creation times", hot)
	}
	cold, err := s.CreateSegment(ctx, store.Segment{AppID: "a", Name: "cold"})
	if err != nil {
		t.Fatalf("CreateSegment(cold): %v", err)
	}
	if cold.ID == hot.ID {
		t.Errorf("two segments share id %d", hot.ID)
	}
	if _, err := s.CreateSegment(ctx, store.Segment{AppID: "a", Name: "hot"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSegment with a taken name: %v, want ErrConflict", err)
	}
	bHot, err := s.CreateSegment(ctx, store.Segment{AppID: "b", Name: "hot"})
	if err != nil {
		t.Fatalf("the same name in another app: %v", err)
	}
	if _, err := s.CreateSegment(ctx, store.Segment{AppID: "nope", Name: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateSegment for a missing app: %v, want ErrNotFound", err)
	}

	got, err := s.Segment(ctx, "a", "hot")
	if err != nil {
		t.Fatalf("Segment: %v", err)
	}
	sameSegment(t, got, hot)
	if !reflect.DeepEqual(got.Rules, rules) {
		t.Errorf("rules came back as %+v, want %+v", got.Rules, rules)
	}
	if got, err = s.SegmentByID(ctx, "a", hot.ID); err != nil {
		t.Fatalf("SegmentByID: %v", err)
	}
	sameSegment(t, got, hot)
	if _, err := s.SegmentByID(ctx, "a", bHot.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SegmentByID of another app's segment: %v, want ErrNotFound", err)
	}
	if _, err := s.Segment(ctx, "b", "cold"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Segment of a name only another app has: %v, want ErrNotFound", err)
	}

	list, err := s.ListSegments(ctx, "a")
	if err != nil {
		t.Fatalf("ListSegments: %v", err)
	}
	if names := segmentNames(list); !slices.Equal(names, []string{"cold", "hot"}) {
		t.Errorf("ListSegments(a) = %v, want [cold hot]", names)
	}
	if list, err := s.ListSegments(ctx, "none"); err != nil || len(list) != 0 || list == nil {
		t.Errorf("ListSegments of an app without segments = %#v, %v; want an empty list", list, err)
	}

	// Update: rename, new rules; the id stays.
	upd := hot
	upd.Name, upd.Title, upd.Rules = "warm", "Warm", store.SegmentRules{Tags: []string{"x"}}
	after, err := s.UpdateSegment(ctx, upd)
	if err != nil {
		t.Fatalf("UpdateSegment: %v", err)
	}
	if after.ID != hot.ID || after.Name != "warm" || after.Title != "Warm" || after.UpdatedAt.Before(hot.UpdatedAt) ||
		!after.CreatedAt.Equal(hot.CreatedAt) || !reflect.DeepEqual(after.Rules, upd.Rules) {
		t.Errorf("UpdateSegment = %+v, want %+v with the same id and creation time", after, upd)
	}
	if _, err := s.Segment(ctx, "a", "hot"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old name after a rename: %v, want ErrNotFound", err)
	}
	upd.Name = "cold"
	if _, err := s.UpdateSegment(ctx, upd); !errors.Is(err, store.ErrConflict) {
		t.Errorf("renaming onto another segment's name: %v, want ErrConflict", err)
	}
	if _, err := s.UpdateSegment(ctx, store.Segment{AppID: "a", ID: bHot.ID, Name: "stolen"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateSegment of another app's segment: %v, want ErrNotFound", err)
	}
	if got, _ := s.Segment(ctx, "b", "hot"); got.Name != "hot" {
		t.Errorf("another app's segment changed: %+v", got)
	}

	if err := s.DeleteSegment(ctx, "b", "cold"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSegment of another app's name: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSegment(ctx, "a", "cold"); err != nil {
		t.Fatalf("DeleteSegment: %v", err)
	}
	if err := s.DeleteSegment(ctx, "a", "cold"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSegment twice: %v, want ErrNotFound", err)
	}
	if list, _ := s.ListSegments(ctx, "a"); !slices.Equal(segmentNames(list), []string{"warm"}) {
		t.Errorf("after delete ListSegments(a) = %v, want [warm]", segmentNames(list))
	}
	// A new segment never reuses a deleted one's id: Najva clients keep ids.
	again, err := s.CreateSegment(ctx, store.Segment{AppID: "a", Name: "cold"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == cold.ID {
		t.Errorf("a new segment reused the deleted segment's id %d", cold.ID)
	}
}

func sameSegment(t *testing.T, got, want store.Segment) {
	t.Helper()
	if got.ID != want.ID || got.AppID != want.AppID || got.Name != want.Name || got.Title != want.Title ||
		got.Description != want.Description || !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("segment = %+v, want %+v", got, want)
	}
}

func segmentNames(list []store.Segment) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Name)
	}
	return out
}

// testSegmentAudience checks nested expressions (AnyOf, NoneOf: segments
// included and excluded) and ClickedSince against the brute-force
// definition over a random population, and that recipients carry their
// time zone.
func testSegmentAudience(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	newApp(t, s, "a")
	newApp(t, s, "b")
	p := newRandomPopulation(3, ms(time.Now()))
	subs := randomSubscribers(t, s, p, "a", 1200)
	others := randomSubscribers(t, s, p, "b", 100)
	for i := range subs {
		if p.r.IntN(3) != 0 {
			continue
		}
		at := p.base.Add(-time.Duration(p.r.IntN(10*24*60)) * time.Minute)
		got, err := s.UpdateSubscriber(t.Context(), "a", subs[i].RegistrationID, store.SubscriberUpdate{LastClickedAt: &at})
		if err != nil {
			t.Fatalf("UpdateSubscriber: %v", err)
		}
		subs[i] = got
	}
	clickSince := func() time.Time { return p.base.Add(-time.Duration(p.r.IntN(11*24*60)) * time.Minute) }

	rules := store.SegmentRules{Tags: p.tags[:2], ActiveWithin: 48 * time.Hour, ClickedWithin: 5 * 24 * time.Hour}
	seg := rules.Audience(p.base)
	if !seg.ActiveSince.Equal(p.base.Add(-48*time.Hour)) || !seg.ClickedSince.Equal(p.base.Add(-5*24*time.Hour)) {
		t.Errorf("SegmentRules.Audience windows: %+v", seg)
	}
	fixed := []store.Audience{
		{ClickedSince: clickSince()},
		{AnyOf: []store.Audience{seg}},
		{NoneOf: []store.Audience{seg}},
		{Tags: p.tags[2:3], AnyOf: []store.Audience{seg}},
		{AnyOf: []store.Audience{{Tags: p.tags[:1]}, {Languages: []string{"fa"}, TagsNot: p.tags[:3]}}, NoneOf: []store.Audience{{Channels: []store.Channel{store.ChannelFCM}}}},
		{AnyOf: []store.Audience{{}}},  // a segment without rules: everyone
		{NoneOf: []store.Audience{{}}}, // excluding everyone: nobody
		{AnyOf: []store.Audience{{TagsAnd: []string{"absent"}}}},
	}
	for i, a := range fixed {
		checkAudience(t, s, "a", subs, a, 13, 500)
		if t.Failed() {
			t.Fatalf("fixed expression %d failed: %+v", i, a)
		}
	}
	checkAudience(t, s, "b", others, fixed[1], 100)

	for i := range 120 {
		a := p.audience(subs, others)
		if p.r.IntN(3) == 0 {
			a.ClickedSince = clickSince()
		}
		for range p.r.IntN(3) {
			sub := p.audience(subs, others)
			if p.r.IntN(2) == 0 {
				sub.ClickedSince = clickSince()
			}
			a.AnyOf = append(a.AnyOf, sub)
		}
		for range p.r.IntN(3) {
			a.NoneOf = append(a.NoneOf, p.audience(subs, others))
		}
		limit := []int{7, 500}[i%2]
		if len(wantAudience(subs, a)) > 40*limit {
			limit = 500
		}
		checkAudience(t, s, "a", subs, a, limit)
		if t.Failed() {
			t.Fatalf("random expression %d failed: %+v", i, a)
		}
	}

	zoned := 0
	for _, r := range streamAudience(t, s, "a", store.Audience{}, 500) {
		if r.Timezone != "" {
			zoned++
		}
	}
	if zoned == 0 {
		t.Errorf("no recipient carries a time zone; the population has them")
	}
}
