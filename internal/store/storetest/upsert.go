package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

func testUpsert(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Insert", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		in := webpush("a", 1, "sports", "news", "sports")
		in.Alias = "user-1"
		in.CreatedAt = ms(time.Now().Add(-time.Hour))
		in.LastActiveAt = ms(time.Now().Add(-time.Minute))
		in.LastClickedAt = ms(time.Now().Add(-2 * time.Minute))
		in.UpdatedAt = ms(time.Now().Add(-30 * time.Second))
		res, err := s.UpsertSubscriber(t.Context(), in)
		if err != nil {
			t.Fatalf("UpsertSubscriber: %v", err)
		}
		if !res.Created || res.Subscriber.ID <= 0 {
			t.Fatalf("result = Created %v ID %d, want a new row with a positive id", res.Created, res.Subscriber.ID)
		}
		want := in
		want.Tags = []string{"news", "sports"} // sorted, unique
		checkSub(t, "UpsertSubscriber result", res.Subscriber, want)
		got := mustGet(t, s, "a", in.RegistrationID)
		want.ID = res.Subscriber.ID
		checkSub(t, "Subscriber", got, want)
		if !sameMS(got.UpdatedAt, in.UpdatedAt) {
			t.Errorf("UpdatedAt = %v, want the given %v", got.UpdatedAt, in.UpdatedAt)
		}
	})

	t.Run("InsertDefaults", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		before := ms(time.Now())
		res, err := s.UpsertSubscriber(t.Context(), device("a", store.ChannelFCM, "fcm-token-1"))
		if err != nil {
			t.Fatalf("UpsertSubscriber: %v", err)
		}
		got := res.Subscriber
		if got.RegistrationID == "" {
			t.Error("an empty RegistrationID was not replaced by a generated one")
		}
		after := time.Now().Add(time.Second)
		for name, tm := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt, "LastActiveAt": got.LastActiveAt} {
			if tm.Before(before) || tm.After(after) {
				t.Errorf("%s = %v, want about now (%v)", name, tm, before)
			}
		}
		if !got.LastClickedAt.IsZero() || len(got.Tags) != 0 || got.Alias != "" {
			t.Errorf("new device: LastClickedAt %v, Tags %q, Alias %q; want zero values", got.LastClickedAt, got.Tags, got.Alias)
		}
		other := mustUpsert(t, s, device("a", store.ChannelAPNs, "apns-token-1"))
		if other.RegistrationID == got.RegistrationID || other.ID <= got.ID {
			t.Errorf("second device: id %d reg %q; want a fresh id above %d and a new reg id", other.ID, other.RegistrationID, got.ID)
		}
	})

	t.Run("SameTokenUpdatesInPlace", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		first := mustUpsert(t, s, webpush("a", 1, "old"))
		again := webpush("a", 1) // same token, new reg id, keys and nil tags
		again.Alias, again.Language, again.Timezone = "bob", "fa", "Asia/Tehran"
		res, err := s.UpsertSubscriber(t.Context(), again)
		if err != nil {
			t.Fatalf("UpsertSubscriber again: %v", err)
		}
		if res.Created {
			t.Error("Created = true for a token already registered")
		}
		want := again
		want.ID, want.RegistrationID, want.CreatedAt = first.ID, first.RegistrationID, first.CreatedAt
		want.Tags = []string{"old"} // nil Tags keep the stored set
		checkSub(t, "result", res.Subscriber, want)
		checkSub(t, "stored", mustGet(t, s, "a", first.RegistrationID), want)
		if _, err := s.Subscriber(t.Context(), "a", again.RegistrationID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the ignored RegistrationID finds a row: error = %v", err)
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{}); n != 1 {
			t.Errorf("CountSubscribers = %d, want 1", n)
		}
	})

	t.Run("TagsNilKeepEmptyClearsNonNilReplaces", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		sub := webpush("a", 1, "x", "y")
		reg := mustUpsert(t, s, sub).RegistrationID
		steps := []struct {
			tags []string
			want []string
		}{
			{nil, []string{"x", "y"}},
			{[]string{"z", "x", "z"}, []string{"x", "z"}},
			{nil, []string{"x", "z"}},
			{[]string{}, nil},
			{nil, nil},
			{[]string{"w"}, []string{"w"}},
		}
		for i, st := range steps {
			sub.Tags = st.tags
			res := mustUpsert(t, s, sub)
			if !sameTags(res.Tags, st.want) {
				t.Errorf("step %d (Tags %q): result Tags = %q, want %q", i, st.tags, res.Tags, st.want)
			}
			if got := mustGet(t, s, "a", reg).Tags; !sameTags(got, st.want) {
				t.Errorf("step %d (Tags %q): stored Tags = %q, want %q", i, st.tags, got, st.want)
			}
		}
	})

	t.Run("EmptyFieldsKeepStoredValues", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		full := webpush("a", 1)
		full.Alias = "alice"
		full.LastClickedAt = ms(time.Now().Add(-time.Minute))
		stored := mustUpsert(t, s, full)
		bare := store.Subscriber{AppID: "a", Channel: full.Channel, Token: full.Token}
		got := mustUpsert(t, s, bare)
		want := full
		want.RegistrationID, want.ID = stored.RegistrationID, stored.ID
		checkSub(t, "after a bare re-registration", got, want)
	})

	t.Run("ActivityNeverMovesBack", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		sub := webpush("a", 1)
		sub.LastActiveAt = ms(time.Now().Add(-time.Minute))
		sub.LastClickedAt = sub.LastActiveAt
		mustUpsert(t, s, sub)
		older := sub
		older.LastActiveAt = sub.LastActiveAt.Add(-time.Hour)
		older.LastClickedAt = sub.LastClickedAt.Add(-time.Hour)
		got := mustUpsert(t, s, older)
		if !sameMS(got.LastActiveAt, sub.LastActiveAt) || !sameMS(got.LastClickedAt, sub.LastClickedAt) {
			t.Errorf("older stamps moved activity back: active %v clicked %v, want %v", got.LastActiveAt, got.LastClickedAt, sub.LastActiveAt)
		}
		newer := sub
		newer.LastActiveAt = sub.LastActiveAt.Add(30 * time.Second)
		newer.LastClickedAt = sub.LastClickedAt.Add(30 * time.Second)
		got = mustUpsert(t, s, newer)
		if !sameMS(got.LastActiveAt, newer.LastActiveAt) || !sameMS(got.LastClickedAt, newer.LastClickedAt) {
			t.Errorf("newer stamps ignored: active %v clicked %v, want %v", got.LastActiveAt, got.LastClickedAt, newer.LastActiveAt)
		}
	})

	t.Run("TokenIsPerChannel", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		f := mustUpsert(t, s, device("a", store.ChannelFCM, "same-token"))
		p := mustUpsert(t, s, device("a", store.ChannelAPNs, "same-token"))
		if f.ID == p.ID {
			t.Fatalf("FCM and APNs rows with the same token share id %d", f.ID)
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{}); n != 2 {
			t.Errorf("CountSubscribers = %d, want 2", n)
		}
	})

	t.Run("UnknownAppIsNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.UpsertSubscriber(t.Context(), webpush("ghost", 1))
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpsertSubscriber for a missing app: error = %v, want ErrNotFound", err)
		}
	})

	t.Run("DuplicateRegistrationIDIsConflict", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		first := mustUpsert(t, s, webpush("a", 1))
		dup := webpush("a", 2)
		dup.RegistrationID = first.RegistrationID
		if _, err := s.UpsertSubscriber(t.Context(), dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("UpsertSubscriber(new token, taken reg id) error = %v, want ErrConflict", err)
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{}); n != 1 {
			t.Errorf("CountSubscribers = %d, want 1", n)
		}
	})

	t.Run("IDsIncreaseAndAreNeverReused", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		var subs []store.Subscriber
		for i := range 3 {
			subs = append(subs, mustUpsert(t, s, webpush("a", i)))
		}
		for i := 1; i < len(subs); i++ {
			if subs[i].ID <= subs[i-1].ID {
				t.Fatalf("ids %v are not increasing", idsOf(subs))
			}
		}
		if err := s.DeleteSubscriber(t.Context(), "a", subs[2].RegistrationID); err != nil {
			t.Fatalf("DeleteSubscriber: %v", err)
		}
		next := mustUpsert(t, s, webpush("a", 99))
		if next.ID <= subs[2].ID {
			t.Errorf("id after deleting the highest = %d, want > %d (never reused)", next.ID, subs[2].ID)
		}
	})

	testUpsertConcurrentOutcomes(t, open)
}

func testBulkUpsert(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("CountsCreatedAndUpdated", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		existing := []store.Subscriber{mustUpsert(t, s, webpush("a", 1, "keep")), mustUpsert(t, s, webpush("a", 2))}
		batch := []store.Subscriber{
			webpush("a", 1),           // update, tags kept
			webpush("a", 2, "fresh"),  // update, tags replaced
			webpush("a", 3, "b", "a"), // new
			webpush("a", 4),           // new
			device("a", store.ChannelFCM, "t-5"),
			webpush("a", 3, "c"), // same token again in the batch: an update
		}
		created, updated, err := s.UpsertSubscribers(t.Context(), batch)
		if err != nil {
			t.Fatalf("UpsertSubscribers: %v", err)
		}
		if created != 3 || updated != 3 {
			t.Errorf("UpsertSubscribers = %d created, %d updated; want 3, 3", created, updated)
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{}); n != 5 {
			t.Errorf("CountSubscribers = %d, want 5", n)
		}
		for i, want := range [][]string{{"keep"}, {"fresh"}} {
			if got := mustGet(t, s, "a", existing[i].RegistrationID); got.ID != existing[i].ID || !sameTags(got.Tags, want) {
				t.Errorf("existing %d: id %d tags %q; want id %d tags %q", i, got.ID, got.Tags, existing[i].ID, want)
			}
		}
		third := mustGet(t, s, "a", batch[2].RegistrationID)
		if !sameTags(third.Tags, []string{"c"}) {
			t.Errorf("row upserted twice in a batch: tags %q, want the last [c]", third.Tags)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		s := open(t)
		created, updated, err := s.UpsertSubscribers(t.Context(), nil)
		if err != nil || created != 0 || updated != 0 {
			t.Fatalf("UpsertSubscribers(nil) = %d, %d, %v; want 0, 0, nil", created, updated, err)
		}
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		batch := []store.Subscriber{webpush("a", 1), webpush("a", 2), webpush("ghost", 3)}
		if _, _, err := s.UpsertSubscribers(t.Context(), batch); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpsertSubscribers with a row of a missing app: error = %v, want ErrNotFound", err)
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{}); n != 0 {
			t.Errorf("after a failed batch CountSubscribers = %d, want 0", n)
		}
	})

	t.Run("Large", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		batch := make([]store.Subscriber, 2000)
		for i := range batch {
			batch[i] = webpush("a", i, "all")
		}
		created, updated, err := s.UpsertSubscribers(t.Context(), batch)
		if err != nil || created != len(batch) || updated != 0 {
			t.Fatalf("UpsertSubscribers(%d new) = %d, %d, %v", len(batch), created, updated, err)
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{Tag: "all"}); n != int64(len(batch)) {
			t.Errorf("CountSubscribers(tag all) = %d, want %d", n, len(batch))
		}
	})

	testBulkUpsertRows(t, open)
}
