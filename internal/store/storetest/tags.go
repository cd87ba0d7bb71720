package storetest

import (
	"slices"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// checkTagCounts compares ListTags with want (tag → subscribers).
func checkTagCounts(t *testing.T, s store.Store, appID string, want map[string]int64) {
	t.Helper()
	got, err := s.ListTags(t.Context(), appID)
	if err != nil {
		t.Fatalf("ListTags(%s): %v", appID, err)
	}
	var wantList []store.TagCount
	for tag, n := range want {
		wantList = append(wantList, store.TagCount{Tag: tag, Subscribers: n})
	}
	slices.SortFunc(wantList, func(a, b store.TagCount) int {
		switch {
		case a.Tag < b.Tag:
			return -1
		case a.Tag > b.Tag:
			return 1
		}
		return 0
	})
	if !slices.Equal(got, wantList) {
		t.Errorf("ListTags(%s) = %v, want %v", appID, got, wantList)
	}
}

func testTags(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("ListTagsCountsByTag", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		checkTagCounts(t, s, "a", nil)
		mustUpsert(t, s, webpush("a", 1, "sports", "news"))
		mustUpsert(t, s, webpush("a", 2, "news"))
		mustUpsert(t, s, webpush("a", 3, "Zebra", "news", "b"))
		mustUpsert(t, s, webpush("a", 4))
		checkTagCounts(t, s, "a", map[string]int64{"Zebra": 1, "b": 1, "news": 3, "sports": 1})
	})

	t.Run("DeleteTag", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		one := mustUpsert(t, s, webpush("a", 1, "promo", "keep"))
		two := mustUpsert(t, s, webpush("a", 2, "promo"))
		three := mustUpsert(t, s, webpush("a", 3, "keep"))
		n, err := s.DeleteTag(t.Context(), "a", "promo")
		if err != nil || n != 2 {
			t.Fatalf("DeleteTag(promo) = %d, %v; want 2", n, err)
		}
		for _, c := range []struct {
			sub  store.Subscriber
			want []string
		}{{one, []string{"keep"}}, {two, nil}, {three, []string{"keep"}}} {
			if got := mustGet(t, s, "a", c.sub.RegistrationID).Tags; !sameTags(got, c.want) {
				t.Errorf("%s: Tags = %q, want %q", c.sub.Token, got, c.want)
			}
		}
		checkTagCounts(t, s, "a", map[string]int64{"keep": 2})
		if got := mustCount(t, s, "a", store.SubscriberFilter{Tag: "promo"}); got != 0 {
			t.Errorf("CountSubscribers(promo) after DeleteTag = %d, want 0", got)
		}
		if got := mustCount(t, s, "a", store.SubscriberFilter{}); got != 3 {
			t.Errorf("DeleteTag removed subscribers: %d left, want 3", got)
		}
		n, err = s.DeleteTag(t.Context(), "a", "promo")
		if err != nil || n != 0 {
			t.Errorf("DeleteTag(promo) again = %d, %v; want 0, nil", n, err)
		}
	})
}

func testAlias(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("UnbindAlias", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		var phones []store.Subscriber
		for i := range 3 {
			sub := webpush("a", i)
			sub.Alias = "erin"
			phones = append(phones, mustUpsert(t, s, sub))
		}
		other := webpush("a", 9)
		other.Alias = "frank"
		other = mustUpsert(t, s, other)
		n, err := s.UnbindAlias(t.Context(), "a", "erin")
		if err != nil || n != 3 {
			t.Fatalf("UnbindAlias(erin) = %d, %v; want 3", n, err)
		}
		for _, p := range phones {
			if got := mustGet(t, s, "a", p.RegistrationID); got.Alias != "" {
				t.Errorf("%s: Alias = %q after unbinding, want empty", p.Token, got.Alias)
			}
		}
		if got := mustGet(t, s, "a", other.RegistrationID).Alias; got != "frank" {
			t.Errorf("unrelated alias = %q, want frank", got)
		}
		if n, err := s.UnbindAlias(t.Context(), "a", "erin"); err != nil || n != 0 {
			t.Errorf("UnbindAlias(erin) again = %d, %v; want 0, nil", n, err)
		}
		if got := mustCount(t, s, "a", store.SubscriberFilter{}); got != 4 {
			t.Errorf("UnbindAlias removed subscribers: %d left, want 4", got)
		}
		if n, err := s.UnbindAlias(t.Context(), "a", ""); err != nil || n != 0 {
			t.Errorf("UnbindAlias(\"\") = %d, %v; want 0, nil (the empty alias is no alias)", n, err)
		}
	})

	t.Run("ListByAlias", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		var want []int64
		for i := range 4 {
			sub := device("a", store.ChannelFCM, "phone-"+string(rune('a'+i)))
			if i != 2 {
				sub.Alias = "gina"
			}
			id := mustUpsert(t, s, sub).ID
			if i != 2 {
				want = append(want, id)
			}
		}
		got := mustList(t, s, "a", store.SubscriberFilter{Alias: "gina"})
		if !slices.Equal(idsOf(got), want) {
			t.Errorf("List(alias gina) = %v, want %v", idsOf(got), want)
		}
	})
}
