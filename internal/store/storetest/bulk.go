package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// testBulkUpsertRows checks that UpsertSubscribers gives each row what
// UpsertSubscriber would give it, one after the other: a backend may write
// a batch with multi-row statements, and these are the cases where that
// is easy to get wrong (a tag set given empty, a token twice, rows far
// apart in a large batch, several apps in one batch).
func testBulkUpsertRows(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("TagsAsIfOneByOne", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		old1 := mustUpsert(t, s, webpush("a", 1, "x"))
		old2 := mustUpsert(t, s, webpush("a", 2, "y"))
		old3 := mustUpsert(t, s, webpush("a", 3, "w"))
		emptied := webpush("a", 1)
		emptied.Tags = []string{} // clears the stored [x]
		batch := []store.Subscriber{
			emptied,
			webpush("a", 2, "z"), webpush("a", 2), // nil after a set keeps [z]
			webpush("a", 3),                                             // nil keeps [w]
			webpush("a", 4, "a"), withTags(webpush("a", 4), []string{}), // new, then emptied
			withTags(webpush("a", 5), []string{}), webpush("a", 5, "b", "b"), // new, empty, then [b]
		}
		created, updated, err := s.UpsertSubscribers(t.Context(), batch)
		if err != nil {
			t.Fatalf("UpsertSubscribers: %v", err)
		}
		if created != 2 || updated != 6 {
			t.Errorf("UpsertSubscribers = %d created, %d updated; want 2, 6", created, updated)
		}
		for _, c := range []struct {
			reg  string
			want []string
		}{
			{old1.RegistrationID, nil}, {old2.RegistrationID, []string{"z"}}, {old3.RegistrationID, []string{"w"}},
			{batch[4].RegistrationID, nil}, {batch[6].RegistrationID, []string{"b"}},
		} {
			if got := mustGet(t, s, "a", c.reg).Tags; !sameTags(got, c.want) {
				t.Errorf("%s: tags %q, want %q", c.reg, got, c.want)
			}
		}
		for tag, want := range map[string]int64{"x": 0, "y": 0, "z": 1, "w": 1, "a": 0, "b": 1} {
			if n := mustCount(t, s, "a", store.SubscriberFilter{Tag: tag}); n != want {
				t.Errorf("CountSubscribers(tag %s) = %d, want %d", tag, n, want)
			}
		}
	})

	t.Run("EmptyValuesKeepAndActivityOnlyMovesOn", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		full := webpush("a", 1)
		full.Alias, full.Language, full.Timezone = "alice", "fa", "Asia/Tehran"
		full.LastActiveAt = ms(time.Now().Add(-time.Minute))
		stored := mustUpsert(t, s, full)
		bare := store.Subscriber{AppID: "a", Channel: full.Channel, Token: full.Token,
			LastActiveAt: full.LastActiveAt.Add(-time.Hour)}
		if _, _, err := s.UpsertSubscribers(t.Context(), []store.Subscriber{bare}); err != nil {
			t.Fatalf("UpsertSubscribers: %v", err)
		}
		got := mustGet(t, s, "a", stored.RegistrationID)
		if got.Alias != "alice" || got.Language != "fa" || got.Timezone != "Asia/Tehran" ||
			string(got.P256DH) != string(full.P256DH) || !sameMS(got.LastActiveAt, full.LastActiveAt) {
			t.Errorf("after a bare bulk re-registration: %+v, want the stored values kept", got)
		}
	})

	t.Run("RegistrationIDTakenFailsTheBatch", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		first := mustUpsert(t, s, webpush("a", 1))
		clash := webpush("a", 2)
		clash.RegistrationID = first.RegistrationID
		_, _, err := s.UpsertSubscribers(t.Context(), []store.Subscriber{webpush("a", 3), clash})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("UpsertSubscribers with a taken registration id: error = %v, want ErrConflict", err)
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{}); n != 1 {
			t.Errorf("after the failed batch CountSubscribers = %d, want 1", n)
		}
	})

	t.Run("LargeBatchWithRepeats", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		batch := make([]store.Subscriber, 0, 1300)
		for i := range 1200 {
			batch = append(batch, webpush("a", i, fmt.Sprintf("g%d", i%3)))
		}
		// The same tokens again, far from their first rows: updates.
		for _, i := range []int{0, 150, 999, 1199} {
			again := webpush("a", i, "late")
			again.Alias = fmt.Sprintf("user-%d", i)
			batch = append(batch, again)
		}
		created, updated, err := s.UpsertSubscribers(t.Context(), batch)
		if err != nil || created != 1200 || updated != 4 {
			t.Fatalf("UpsertSubscribers = %d, %d, %v; want 1200 created, 4 updated", created, updated, err)
		}
		subs := mustList(t, s, "a", store.SubscriberFilter{Limit: 1000})
		for i := 1; i < len(subs); i++ {
			if subs[i].ID <= subs[i-1].ID {
				t.Fatalf("ids not increasing at %d", i)
			}
		}
		for _, i := range []int{0, 150, 999} { // in the first page: ids follow the batch's order
			got := subs[i]
			if got.Token != batch[i].Token || got.Alias != fmt.Sprintf("user-%d", i) || !sameTags(got.Tags, []string{"late"}) {
				t.Errorf("row %d: token %s alias %q tags %q; want its first row's place, the last row's alias and tags",
					i, got.Token, got.Alias, got.Tags)
			}
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{Tag: "late"}); n != 4 {
			t.Errorf("CountSubscribers(tag late) = %d, want 4", n)
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{Tag: "g0"}); n != 400-3 { // 0, 150 and 999 moved to late
			t.Errorf("CountSubscribers(tag g0) = %d, want 397", n)
		}
	})

	t.Run("SeveralAppsInOneBatch", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		newApp(t, s, "b")
		inA := device("a", store.ChannelFCM, "same-token")
		inA.Tags = []string{"in-a"}
		inB := device("b", store.ChannelFCM, "same-token")
		inB.Tags = []string{"in-b"}
		created, updated, err := s.UpsertSubscribers(t.Context(), []store.Subscriber{inA, inB, webpush("a", 1)})
		if err != nil || created != 3 || updated != 0 {
			t.Fatalf("UpsertSubscribers = %d, %d, %v; want 3 created", created, updated, err)
		}
		for app, want := range map[string]string{"a": "in-a", "b": "in-b"} {
			got := mustList(t, s, app, store.SubscriberFilter{Channel: store.ChannelFCM})
			if len(got) != 1 || !sameTags(got[0].Tags, []string{want}) {
				t.Errorf("app %s: %d FCM rows, want 1 tagged %s: %+v", app, len(got), want, got)
			}
		}
	})
}

func withTags(s store.Subscriber, tags []string) store.Subscriber {
	s.Tags = tags
	return s
}
