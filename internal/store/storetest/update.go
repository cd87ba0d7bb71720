package storetest

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

func testUpdate(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Fields", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		sub := mustUpsert(t, s, webpush("a", 1, "t1"))
		active := ms(time.Now().Add(-3 * time.Hour))
		clicked := ms(time.Now().Add(-4 * time.Hour))
		got, err := s.UpdateSubscriber(t.Context(), "a", sub.RegistrationID, store.SubscriberUpdate{
			Alias:         ptr("carol"),
			Language:      ptr("de"),
			Timezone:      ptr("Europe/Berlin"),
			LastActiveAt:  &active,
			LastClickedAt: &clicked,
		})
		if err != nil {
			t.Fatalf("UpdateSubscriber: %v", err)
		}
		want := sub
		want.Alias, want.Language, want.Timezone, want.LastActiveAt = "carol", "de", "Europe/Berlin", active
		want.LastClickedAt = clicked
		checkSub(t, "result", got, want)
		checkSub(t, "stored", mustGet(t, s, "a", sub.RegistrationID), want)
		if got.UpdatedAt.Before(sub.UpdatedAt) {
			t.Errorf("UpdatedAt went back: %v < %v", got.UpdatedAt, sub.UpdatedAt)
		}
	})

	t.Run("LastClickedAt", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		sub := mustUpsert(t, s, webpush("a", 1))
		if !sub.LastClickedAt.IsZero() {
			t.Fatalf("new subscriber LastClickedAt = %v, want zero", sub.LastClickedAt)
		}
		for i, at := range []time.Time{ms(time.Now().Add(-time.Minute)), ms(time.Now().Add(-time.Hour)), {}} {
			// Set as given, even back in time; zero is "never".
			got, err := s.UpdateSubscriber(t.Context(), "a", sub.RegistrationID, store.SubscriberUpdate{LastClickedAt: &at})
			if err != nil {
				t.Fatalf("step %d: UpdateSubscriber: %v", i, err)
			}
			stored := mustGet(t, s, "a", sub.RegistrationID)
			for what, v := range map[string]time.Time{"result": got.LastClickedAt, "stored": stored.LastClickedAt} {
				if v.IsZero() != at.IsZero() || !at.IsZero() && !sameMS(v, at) {
					t.Errorf("step %d: %s LastClickedAt = %v, want %v", i, what, v, at)
				}
			}
			if !sameMS(stored.LastActiveAt, sub.LastActiveAt) || stored.Alias != sub.Alias {
				t.Errorf("step %d: a click update changed other fields: %+v", i, stored)
			}
		}
	})

	t.Run("NothingToChange", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		sub := mustUpsert(t, s, webpush("a", 1, "t1"))
		got, err := s.UpdateSubscriber(t.Context(), "a", sub.RegistrationID, store.SubscriberUpdate{})
		if err != nil {
			t.Fatalf("UpdateSubscriber(empty update): %v", err)
		}
		checkSub(t, "after an empty update", got, sub)
	})

	t.Run("AliasBindAndUnbind", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		sub := mustUpsert(t, s, webpush("a", 1))
		got, err := s.UpdateSubscriber(t.Context(), "a", sub.RegistrationID, store.SubscriberUpdate{Alias: ptr("dave")})
		if err != nil || got.Alias != "dave" {
			t.Fatalf("bind alias: %q, %v; want dave", got.Alias, err)
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{Alias: "dave"}); n != 1 {
			t.Errorf("Count(alias dave) = %d, want 1", n)
		}
		got, err = s.UpdateSubscriber(t.Context(), "a", sub.RegistrationID, store.SubscriberUpdate{Alias: ptr("")})
		if err != nil || got.Alias != "" {
			t.Fatalf("unbind alias: %q, %v; want empty", got.Alias, err)
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{Alias: "dave"}); n != 0 {
			t.Errorf("Count(alias dave) after unbinding = %d, want 0", n)
		}
	})

	t.Run("Tags", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		reg := mustUpsert(t, s, webpush("a", 1, "a1", "b1")).RegistrationID
		steps := []struct {
			name   string
			change store.TagChange
			want   []string
		}{
			{"add", store.TagChange{Add: []string{"c1", "a1", "c1"}}, []string{"a1", "b1", "c1"}},
			{"remove", store.TagChange{Remove: []string{"b1", "never-had"}}, []string{"a1", "c1"}},
			{"add and remove", store.TagChange{Add: []string{"d1"}, Remove: []string{"a1"}}, []string{"c1", "d1"}},
			{"replace", store.TagChange{Replace: true, Add: []string{"z1", "y1"}, Remove: []string{"z1"}}, []string{"y1", "z1"}},
			{"replace with nothing", store.TagChange{Replace: true}, nil},
			{"add to none", store.TagChange{Add: []string{"e1"}}, []string{"e1"}},
			{"add wins over remove", store.TagChange{Add: []string{"f1"}, Remove: []string{"f1", "e1"}}, []string{"f1"}},
		}
		for _, st := range steps {
			got, err := s.UpdateSubscriber(t.Context(), "a", reg, store.SubscriberUpdate{Tags: &st.change})
			if err != nil {
				t.Fatalf("%s: UpdateSubscriber: %v", st.name, err)
			}
			if !sameTags(got.Tags, st.want) {
				t.Errorf("%s: result Tags = %q, want %q", st.name, got.Tags, st.want)
			}
			if stored := mustGet(t, s, "a", reg).Tags; !sameTags(stored, st.want) {
				t.Errorf("%s: stored Tags = %q, want %q", st.name, stored, st.want)
			}
		}
	})

	t.Run("MissingIsNotFound", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		_, err := s.UpdateSubscriber(t.Context(), "a", "nope", store.SubscriberUpdate{Alias: ptr("x")})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateSubscriber(missing) error = %v, want ErrNotFound", err)
		}
		_, err = s.UpdateSubscriber(t.Context(), "a", "nope", store.SubscriberUpdate{})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateSubscriber(missing, empty update) error = %v, want ErrNotFound", err)
		}
	})
}

func testDelete(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("One", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		gone := mustUpsert(t, s, webpush("a", 1, "shared", "only-gone"))
		kept := mustUpsert(t, s, webpush("a", 2, "shared"))
		if err := s.DeleteSubscriber(t.Context(), "a", gone.RegistrationID); err != nil {
			t.Fatalf("DeleteSubscriber: %v", err)
		}
		if _, err := s.Subscriber(t.Context(), "a", gone.RegistrationID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Subscriber after delete: error = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSubscriber(t.Context(), "a", gone.RegistrationID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second DeleteSubscriber: error = %v, want ErrNotFound", err)
		}
		checkTagCounts(t, s, "a", map[string]int64{"shared": 1})
		mustGet(t, s, "a", kept.RegistrationID)
		// The token can register again, as a new subscriber.
		again := mustUpsert(t, s, webpush("a", 1))
		if again.ID <= kept.ID || len(again.Tags) != 0 {
			t.Errorf("re-registered: id %d tags %q; want a new id and no old tags", again.ID, again.Tags)
		}
	})

	t.Run("ByID", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		var subs []store.Subscriber
		for i := range 5 {
			subs = append(subs, mustUpsert(t, s, webpush("a", i, "t")))
		}
		n, err := s.DeleteSubscribersByID(t.Context(), "a", []int64{subs[0].ID, subs[3].ID, subs[3].ID, 1 << 40})
		if err != nil || n != 2 {
			t.Fatalf("DeleteSubscribersByID = %d, %v; want 2", n, err)
		}
		left := mustList(t, s, "a", store.SubscriberFilter{})
		if got, want := idsOf(left), []int64{subs[1].ID, subs[2].ID, subs[4].ID}; !slices.Equal(got, want) {
			t.Errorf("left ids %v, want %v", got, want)
		}
		checkTagCounts(t, s, "a", map[string]int64{"t": 3})
		for _, ids := range [][]int64{nil, {}} {
			if n, err := s.DeleteSubscribersByID(t.Context(), "a", ids); err != nil || n != 0 {
				t.Errorf("DeleteSubscribersByID(%v) = %d, %v; want 0, nil", ids, n, err)
			}
		}
	})

	t.Run("ManyByID", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		batch := make([]store.Subscriber, 3000)
		for i := range batch {
			batch[i] = device("a", store.ChannelFCM, "tok-"+strconv.Itoa(i))
			batch[i].Tags = []string{"t"}
		}
		if _, _, err := s.UpsertSubscribers(t.Context(), batch); err != nil {
			t.Fatalf("UpsertSubscribers: %v", err)
		}
		var ids []int64
		for f := (store.SubscriberFilter{Limit: 1000}); ; {
			page := mustList(t, s, "a", f)
			if len(page) == 0 {
				break
			}
			if len(ids) >= len(batch) {
				t.Fatalf("paging past %d rows: the cursor does not advance", len(batch))
			}
			ids = append(ids, idsOf(page)...)
			f.AfterID = page[len(page)-1].ID
		}
		n, err := s.DeleteSubscribersByID(t.Context(), "a", ids[:2500])
		if err != nil || n != 2500 {
			t.Fatalf("DeleteSubscribersByID(2500 ids) = %d, %v", n, err)
		}
		if c := mustCount(t, s, "a", store.SubscriberFilter{Tag: "t"}); c != 500 {
			t.Errorf("CountSubscribers(tag t) = %d, want 500", c)
		}
	})
}
