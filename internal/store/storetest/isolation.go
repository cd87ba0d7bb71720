package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// testIsolation proves that acting as app B never reads, lists, counts,
// updates, deletes or prunes app A's subscribers or tags, even when B
// names A's registration ids, ids, tags, aliases and tokens.
func testIsolation(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	newApp(t, s, "A")
	newApp(t, s, "B")
	base := ms(time.Now())
	subsA := seed(t, s, "A", 12, base)
	onlyA := mustUpsert(t, s, webpush("A", 100, "only-a"))
	onlyA, err := s.UpdateSubscriber(t.Context(), "A", onlyA.RegistrationID, store.SubscriberUpdate{Alias: ptr("alias-of-a")})
	if err != nil {
		t.Fatalf("UpdateSubscriber: %v", err)
	}
	subsA = append(subsA, onlyA)
	subsB := seed(t, s, "B", 5, base)
	before := mustList(t, s, "A", store.SubscriberFilter{Limit: 1000})
	tagsBefore, err := s.ListTags(t.Context(), "A")
	if err != nil {
		t.Fatalf("ListTags(A): %v", err)
	}

	// unchanged checks, after each probe, that A's rows are exactly as
	// they were.
	unchanged := func(t *testing.T) {
		t.Helper()
		after := mustList(t, s, "A", store.SubscriberFilter{Limit: 1000})
		if !slices.Equal(idsOf(after), idsOf(before)) {
			t.Fatalf("A's ids changed: %v, were %v", idsOf(after), idsOf(before))
		}
		for i := range after {
			checkSub(t, "A's row", after[i], before[i])
			if !sameMS(after[i].UpdatedAt, before[i].UpdatedAt) {
				t.Errorf("A's row %d: UpdatedAt changed to %v", after[i].ID, after[i].UpdatedAt)
			}
		}
		tags, err := s.ListTags(t.Context(), "A")
		if err != nil || !slices.Equal(tags, tagsBefore) {
			t.Errorf("A's tags = %v, %v; were %v", tags, err, tagsBefore)
		}
	}

	t.Run("Read", func(t *testing.T) {
		for _, a := range subsA {
			if _, err := s.Subscriber(t.Context(), "B", a.RegistrationID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("B reads A's %s: error = %v, want ErrNotFound", a.RegistrationID, err)
			}
		}
	})

	t.Run("ListAndCount", func(t *testing.T) {
		for _, c := range filterCases(base) {
			var want []int64
			for _, b := range subsB {
				if c.match(b) {
					want = append(want, b.ID)
				}
			}
			f := c.f
			f.Limit = 1000
			got := mustList(t, s, "B", f)
			if !slices.Equal(idsOf(got), want) {
				t.Errorf("%s: B lists %v, want only B's %v", c.name, idsOf(got), want)
			}
			if n := mustCount(t, s, "B", c.f); n != int64(len(want)) {
				t.Errorf("%s: B counts %d, want %d", c.name, n, len(want))
			}
		}
		if got := mustList(t, s, "B", store.SubscriberFilter{Tag: "only-a"}); len(got) != 0 {
			t.Errorf("B lists A's tag: %v", idsOf(got))
		}
		if got := mustList(t, s, "B", store.SubscriberFilter{Alias: "alias-of-a"}); len(got) != 0 {
			t.Errorf("B lists A's alias: %v", idsOf(got))
		}
		if got := mustList(t, s, "B", store.SubscriberFilter{AfterID: subsA[0].ID - 1, Limit: 1000}); len(got) != len(subsB) {
			t.Errorf("B lists %d rows from A's first id, want its own %d", len(got), len(subsB))
		}
		checkTagCounts(t, s, "B", map[string]int64{"all": 5, "even": 3, "odd": 2, "three": 2})
	})

	t.Run("Update", func(t *testing.T) {
		change := store.SubscriberUpdate{
			Alias: ptr("stolen"), Language: ptr("xx"),
			Tags: &store.TagChange{Replace: true, Add: []string{"stolen"}},
		}
		for _, a := range subsA {
			if _, err := s.UpdateSubscriber(t.Context(), "B", a.RegistrationID, change); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("B updates A's %s: error = %v, want ErrNotFound", a.RegistrationID, err)
			}
		}
		unchanged(t)
	})

	t.Run("Delete", func(t *testing.T) {
		for _, a := range subsA {
			if err := s.DeleteSubscriber(t.Context(), "B", a.RegistrationID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("B deletes A's %s: error = %v, want ErrNotFound", a.RegistrationID, err)
			}
		}
		if n, err := s.DeleteSubscribersByID(t.Context(), "B", idsOf(subsA)); err != nil || n != 0 {
			t.Errorf("B prunes A's ids: %d removed, %v; want 0", n, err)
		}
		unchanged(t)
	})

	t.Run("TagsAndAliases", func(t *testing.T) {
		if n, err := s.DeleteTag(t.Context(), "B", "only-a"); err != nil || n != 0 {
			t.Errorf("B deletes A's tag: %d, %v; want 0", n, err)
		}
		if n, err := s.UnbindAlias(t.Context(), "B", "alias-of-a"); err != nil || n != 0 {
			t.Errorf("B unbinds A's alias: %d, %v; want 0", n, err)
		}
		unchanged(t)
		// Shared tag and alias names: B's own rows change, A's do not.
		if n, err := s.DeleteTag(t.Context(), "B", "three"); err != nil || n != 2 {
			t.Errorf("B deletes its tag three: %d, %v; want 2", n, err)
		}
		if n, err := s.UnbindAlias(t.Context(), "B", "u0"); err != nil || n != 2 {
			t.Errorf("B unbinds its alias u0: %d, %v; want 2", n, err)
		}
		unchanged(t)
	})

	t.Run("Upsert", func(t *testing.T) {
		// The same token under B is B's own, new subscriber.
		same := webpush("B", 100, "b-tag")
		res, err := s.UpsertSubscriber(t.Context(), same)
		if err != nil || !res.Created || res.Subscriber.AppID != "B" {
			t.Fatalf("B registers A's token: %+v, %v; want a new row of B", res, err)
		}
		if _, _, err := s.UpsertSubscribers(t.Context(), []store.Subscriber{webpush("B", 0), webpush("B", 1)}); err != nil {
			t.Fatalf("B bulk-registers A's tokens: %v", err)
		}
		// B cannot take over A's registration id.
		hijack := webpush("B", 200)
		hijack.RegistrationID = onlyA.RegistrationID
		if _, err := s.UpsertSubscriber(t.Context(), hijack); !errors.Is(err, store.ErrConflict) {
			t.Errorf("B upserts with A's registration id: error = %v, want ErrConflict", err)
		}
		unchanged(t)
	})
}
