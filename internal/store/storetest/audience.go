package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// inAudience is the definition of store.Audience in plain Go: every
// non-empty part must match, lists are OR except TagsAnd (all of them)
// and TagsNot (none of them), and ActiveSince is inclusive.
func inAudience(s store.Subscriber, a store.Audience) bool {
	anyOf := func(vals []string, v string) bool { return len(vals) == 0 || slices.Contains(vals, v) }
	hasAny := func(tags []string) bool {
		for _, t := range tags {
			if slices.Contains(s.Tags, t) {
				return true
			}
		}
		return false
	}
	if !anyOf(a.RegistrationIDs, s.RegistrationID) || !anyOf(a.Aliases, s.Alias) ||
		!anyOf(a.Languages, s.Language) || !anyOf(a.Timezones, s.Timezone) {
		return false
	}
	if len(a.Channels) > 0 && !slices.Contains(a.Channels, s.Channel) {
		return false
	}
	if !a.ActiveSince.IsZero() && s.LastActiveAt.Before(a.ActiveSince) {
		return false
	}
	if !a.ClickedSince.IsZero() && (s.LastClickedAt.IsZero() || s.LastClickedAt.Before(a.ClickedSince)) {
		return false
	}
	if len(a.AnyOf) > 0 && !slices.ContainsFunc(a.AnyOf, func(sub store.Audience) bool { return inAudience(s, sub) }) {
		return false
	}
	if slices.ContainsFunc(a.NoneOf, func(sub store.Audience) bool { return inAudience(s, sub) }) {
		return false
	}
	if len(a.Tags) > 0 && !hasAny(a.Tags) {
		return false
	}
	for _, t := range a.TagsAnd {
		if !slices.Contains(s.Tags, t) {
			return false
		}
	}
	return !hasAny(a.TagsNot)
}

// wantAudience returns the members of a among subs (in id order), as
// recipients.
func wantAudience(subs []store.Subscriber, a store.Audience) []store.Recipient {
	var out []store.Recipient
	for _, s := range subs {
		if inAudience(s, a) {
			out = append(out, store.Recipient{ID: s.ID, Channel: s.Channel, Timezone: s.Timezone})
		}
	}
	return out
}

// streamAudience reads a's whole audience with AudiencePage, limit rows at
// a time, as the fanout does, checking each page's size and order.
func streamAudience(t *testing.T, s store.Store, appID string, a store.Audience, limit int) []store.Recipient {
	t.Helper()
	var all []store.Recipient
	after := int64(0)
	for pages := 0; ; pages++ {
		page, err := s.AudiencePage(t.Context(), appID, a, after, limit)
		if err != nil {
			t.Fatalf("AudiencePage(%s, %+v, after %d, limit %d): %v", appID, a, after, limit, err)
		}
		if len(page) > limit {
			t.Fatalf("page of %d with limit %d", len(page), limit)
		}
		for i, r := range page {
			if r.ID <= after || (i > 0 && r.ID <= page[i-1].ID) {
				t.Fatalf("page after %d is not in increasing id order: %v", after, page)
			}
		}
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
		if pages > 100_000 {
			t.Fatalf("the audience cursor does not advance")
		}
		after = page[len(page)-1].ID
	}
}

func mustCountAudience(t *testing.T, s store.Store, appID string, a store.Audience) int64 {
	t.Helper()
	n, err := s.CountAudience(t.Context(), appID, a)
	if err != nil {
		t.Fatalf("CountAudience(%s, %+v): %v", appID, a, err)
	}
	return n
}

// checkAudience compares AudiencePage (at several page sizes) and
// CountAudience with inAudience over subs, all of app appID.
func checkAudience(t *testing.T, s store.Store, appID string, subs []store.Subscriber, a store.Audience, limits ...int) {
	t.Helper()
	want := wantAudience(subs, a)
	for _, limit := range limits {
		got := streamAudience(t, s, appID, a, limit)
		if !slices.Equal(got, want) {
			t.Errorf("%+v, pages of %d:\n\tgot  %v\n\twant %v", a, limit, got, want)
			break
		}
	}
	if n := mustCountAudience(t, s, appID, a); n != int64(len(want)) {
		t.Errorf("CountAudience(%+v) = %d, want %d", a, n, len(want))
	}
}

// audienceCases are hand-written expressions over seed's rows: each part
// alone, its edge cases, and combinations.
func audienceCases(subs []store.Subscriber, base time.Time) []struct {
	name string
	a    store.Audience
} {
	return []struct {
		name string
		a    store.Audience
	}{
		{"Everyone", store.Audience{}},
		{"EmptyListsDoNotFilter", store.Audience{Tags: []string{}, TagsAnd: []string{}, TagsNot: []string{}, Aliases: []string{}}},
		{"RegistrationIDs", store.Audience{RegistrationIDs: []string{subs[4].RegistrationID, subs[1].RegistrationID, "unknown"}}},
		{"RegistrationIDsRepeated", store.Audience{RegistrationIDs: []string{subs[2].RegistrationID, subs[2].RegistrationID}}},
		{"Tag", store.Audience{Tags: []string{"three"}}},
		{"TagsOr", store.Audience{Tags: []string{"three", "even", "nobody"}}},
		{"TagsOrRepeated", store.Audience{Tags: []string{"even", "even", "all"}}},
		{"TagNobodyHas", store.Audience{Tags: []string{"nobody"}}},
		{"TagsAnd", store.Audience{TagsAnd: []string{"even", "three"}}},
		{"TagsAndRepeated", store.Audience{TagsAnd: []string{"odd", "odd"}}},
		{"TagsAndWithUnknown", store.Audience{TagsAnd: []string{"all", "nobody"}}},
		{"TagsNot", store.Audience{TagsNot: []string{"three"}}},
		{"TagsNotAny", store.Audience{TagsNot: []string{"even", "three"}}},
		{"TagsNotUnknown", store.Audience{TagsNot: []string{"nobody"}}},
		{"TagsNotEveryone", store.Audience{TagsNot: []string{"all"}}},
		{"OrAndNot", store.Audience{Tags: []string{"even", "three"}, TagsAnd: []string{"all"}, TagsNot: []string{"odd"}}},
		{"OrAndNotSame", store.Audience{Tags: []string{"three"}, TagsAnd: []string{"three"}, TagsNot: []string{"three"}}},
		{"Aliases", store.Audience{Aliases: []string{"u1", "u3", "nobody"}}},
		{"Languages", store.Audience{Languages: []string{"fa"}}},
		{"Timezones", store.Audience{Timezones: []string{"UTC"}}},
		{"Channels", store.Audience{Channels: []store.Channel{store.ChannelFCM, store.ChannelAPNs}}},
		{"ActiveSince", store.Audience{ActiveSince: base.Add(-4*time.Hour - 30*time.Minute)}},
		{"ActiveSinceIsInclusive", store.Audience{ActiveSince: base.Add(-3 * time.Hour)}},
		{"TagAndChannel", store.Audience{Tags: []string{"even"}, Channels: []store.Channel{store.ChannelWebPush}}},
		{"NotAndLanguage", store.Audience{TagsNot: []string{"three"}, Languages: []string{"en"}}},
		{"Everything", store.Audience{
			RegistrationIDs: regIDsOf(subs[:min(20, len(subs))]),
			Tags:            []string{"even", "odd"}, TagsAnd: []string{"all"}, TagsNot: []string{"three"},
			Aliases:   []string{"u0", "u1", "u2", "u4", "u5", "u7", "u8"},
			Languages: []string{"en", "fa"}, Channels: []store.Channel{store.ChannelWebPush, store.ChannelFCM},
			ActiveSince: base.Add(-17 * time.Hour),
		}},
	}
}

func testAudience(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Parts", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		newApp(t, s, "b")
		base := ms(time.Now())
		subs := seed(t, s, "a", 30, base)
		seed(t, s, "b", 10, base) // the same tags, aliases and languages in another app
		for _, c := range audienceCases(subs, base) {
			t.Run(c.name, func(t *testing.T) {
				checkAudience(t, s, "a", subs, c.a, 1, 4, 500)
			})
		}
	})

	t.Run("PagesFromTheCursor", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		subs := seed(t, s, "a", 12, time.Now())
		a := store.Audience{Tags: []string{"even"}}
		page, err := s.AudiencePage(t.Context(), "a", a, subs[5].ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.Recipient{{ID: subs[6].ID, Channel: subs[6].Channel, Timezone: subs[6].Timezone}, {ID: subs[8].ID, Channel: subs[8].Channel, Timezone: subs[8].Timezone}}
		if !slices.Equal(page, want) {
			t.Errorf("page after %d = %v, want %v", subs[5].ID, page, want)
		}
		if page, err := s.AudiencePage(t.Context(), "a", a, subs[11].ID, 10); err != nil || len(page) != 0 {
			t.Errorf("page after the last = %v, %v; want none", page, err)
		}
	})

	t.Run("DeletedAndRetaggedSubscribers", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		subs := seed(t, s, "a", 10, time.Now())
		if err := s.DeleteSubscriber(t.Context(), "a", subs[2].RegistrationID); err != nil {
			t.Fatal(err)
		}
		moved, err := s.UpdateSubscriber(t.Context(), "a", subs[4].RegistrationID, store.SubscriberUpdate{
			Tags: &store.TagChange{Replace: true, Add: []string{"odd", "new"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		subs = slices.Delete(slices.Clone(subs), 2, 3)
		subs[3] = moved
		for _, a := range []store.Audience{{Tags: []string{"even"}}, {Tags: []string{"new"}}, {TagsNot: []string{"even"}}, {}} {
			checkAudience(t, s, "a", subs, a, 3, 100)
		}
	})

	t.Run("AnotherAppsSubscribersNeverMatch", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "A")
		newApp(t, s, "B")
		base := ms(time.Now())
		subsA := seed(t, s, "A", 8, base)
		subsB := seed(t, s, "B", 8, base)
		for _, c := range audienceCases(subsA, base) {
			// B names A's registration ids and shares A's tags, aliases
			// and languages: only B's own rows may come back.
			checkAudience(t, s, "B", subsB, c.a, 3, 100)
		}
		if got := streamAudience(t, s, "nobody", store.Audience{}, 10); len(got) != 0 {
			t.Errorf("audience of an app without subscribers = %v", got)
		}
	})
}

// testMessageIsolation proves that app B can neither read nor change
// app A's messages, even by naming their ids.
func testMessageIsolation(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	newApp(t, s, "A")
	newApp(t, s, "B")
	subA := mustUpsert(t, s, webpush("A", 1, "t"))
	subB := mustUpsert(t, s, webpush("B", 1, "t"))
	in := newMessage("A")
	in.DedupID = "shared"
	m := mustCreate(t, s, in)
	advance(t, s, "A", m.ID, subA.ID, 1, false)
	before := mustMessage(t, s, "A", m.ID)

	var log enqueueLog
	checks := map[string]error{}
	_, checks["Message"] = s.Message(t.Context(), "B", m.ID)
	_, checks["SetMessageState"] = s.SetMessageState(t.Context(), "B", m.ID,
		[]store.MessageState{store.StateQueued, store.StateSending}, store.StateCancelled, log.txFunc(nil))
	_, checks["AdvanceFanout"] = s.AdvanceFanout(t.Context(), "B", m.ID, subB.ID, 5, true, log.txFunc(nil))
	_, checks["PendingRecipients"] = s.PendingRecipients(t.Context(), "B", m.ID, []int64{subA.ID, subB.ID}, false)
	_, checks["PendingRecipients(retry)"] = s.PendingRecipients(t.Context(), "B", m.ID, []int64{subA.ID, subB.ID}, true)
	_, checks["RecordOutcomes"] = s.RecordOutcomes(t.Context(), "B", m.ID, []store.Outcome{
		{SubscriberID: subA.ID, Result: store.ResultPruned, Reason: "http 410"},
		{SubscriberID: subB.ID, Result: store.ResultPruned, Reason: "http 410"},
	}, log.txFunc(nil))
	checks["AddEngagement"] = s.AddEngagement(t.Context(), "B", m.ID, 5, 5)
	for name, err := range checks {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("B's %s on A's message: error = %v, want ErrNotFound", name, err)
		}
	}
	if log.count() != 0 {
		t.Errorf("B's calls ran %d enqueue callbacks, want none", log.count())
	}
	if list := mustListMessages(t, s, "B", 0, 100); len(list) != 0 {
		t.Errorf("B lists A's messages: %v", messageIDs(list))
	}
	after := mustMessage(t, s, "A", m.ID)
	checkMessage(t, "A's message after B's calls", after, before)
	if after.State != before.State || !after.FinishedAt.Equal(before.FinishedAt) {
		t.Errorf("A's message is %s (finished %v), was %s", after.State, after.FinishedAt, before.State)
	}
	mustGet(t, s, "A", subA.RegistrationID) // not pruned by B
	mustGet(t, s, "B", subB.RegistrationID) // nor B's own, for A's message
	pending, err := s.PendingRecipients(t.Context(), "A", m.ID, []int64{subA.ID, subB.ID}, false)
	if err != nil || !slices.Equal(idsOf(pending), []int64{subA.ID}) {
		t.Errorf("A's pending recipients = %v, %v; want only %d (no outcome was recorded by B)", idsOf(pending), err, subA.ID)
	}
	// B's own message with the same dedup id is B's.
	inB := newMessage("B")
	inB.DedupID = "shared"
	if got, created, err := s.CreateMessage(t.Context(), inB, nil); err != nil || !created || got.ID == m.ID {
		t.Errorf("B's message with A's dedup id: %d, created %v, %v", got.ID, created, err)
	}
}
