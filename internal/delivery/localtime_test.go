package delivery

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

func TestLocalInstant(t *testing.T) {
	z := zones{}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, from, zone, hhmm, want string
	}{
		{"later today in UTC", "2026-11-24T08:10:00Z", "UTC", "09:00", "2026-11-24T09:00:00Z"},
		{"passed today: tomorrow", "2026-11-24T09:10:00Z", "UTC", "09:00", "2026-11-25T09:00:00Z"},
		{"this very minute: now", "2026-11-24T09:00:40Z", "UTC", "09:00", "2026-11-24T09:00:00Z"},
		{"no zone is UTC", "2026-11-24T08:10:00Z", "", "09:00", "2026-11-24T09:00:00Z"},
		{"unknown zone is UTC", "2026-11-24T08:10:00Z", "Mars/Olympus", "09:00", "2026-11-24T09:00:00Z"},
		{"Tehran (+03:30), later today", "2026-11-24T04:00:00Z", "Asia/Tehran", "09:00", "2026-11-24T05:30:00Z"},
		{"Tehran, passed", "2026-11-24T06:00:00Z", "Asia/Tehran", "09:00", "2026-11-25T05:30:00Z"},
		{"New York: 21:00 on the 23rd, passed", "2026-11-24T02:00:00Z", "America/New_York", "20:00", "2026-11-25T01:00:00Z"},
		{"New York: 19:30 on the 23rd, later that evening", "2026-11-24T00:30:00Z", "America/New_York", "20:00", "2026-11-24T01:00:00Z"},
		{"Kiritimati (+14), midnight", "2026-11-24T09:59:00Z", "Pacific/Kiritimati", "00:00", "2026-11-24T10:00:00Z"},
		{"Berlin across spring-forward: 02:30 does not exist", "2026-03-28T12:00:00Z", "Europe/Berlin", "02:30", "2026-03-29T01:30:00Z"},
		{"Berlin summer time", "2026-07-01T05:00:00Z", "Europe/Berlin", "09:00", "2026-07-01T07:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, m, err := parseLocalTime(tc.hhmm)
			if err != nil {
				t.Fatal(err)
			}
			from := utc(tc.from)
			got := localInstant(from, h, m, z.location(tc.zone))
			if want := utc(tc.want); !got.Equal(want) {
				t.Errorf("localInstant(%s, %s, %s) = %s, want %s", tc.from, tc.hhmm, tc.zone, got.Format(time.RFC3339), tc.want)
			}
			if got.Before(from.Truncate(time.Minute)) || got.Sub(from) > 25*time.Hour {
				t.Errorf("%s is not within a day after %s", got, from)
			}
		})
	}
	for _, bad := range []string{"", "9:00", "24:00", "12:60", "ab:cd", "12-00"} {
		if _, _, err := parseLocalTime(bad); err == nil {
			t.Errorf("parseLocalTime(%q) accepted", bad)
		}
	}
}

// TestLocalTimeTTL: a local-time batch's TTL counts from its instant, not
// from send_at, hours before.
func TestLocalTimeTTL(t *testing.T) {
	now := time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	e := testEngine(now)
	m := store.Message{ID: 1, AppID: "a", TTL: time.Hour, SendAt: now.Add(-10 * time.Hour), LocalTime: "18:00"}
	sent := fakePusher{Attempt{Result: store.ResultSent}}
	pc := &payloadCache{c: Content{Title: "t"}, id: 1}
	if o := e.attempt(context.Background(), m, deliverArgs{Channel: store.ChannelWebPush, LocalAt: now}, sent, pc, store.Subscriber{ID: 1}); o.Result != store.ResultSent {
		t.Errorf("batch at its local instant: %+v, want sent", o)
	}
	if o := e.attempt(context.Background(), m, deliverArgs{Channel: store.ChannelWebPush, LocalAt: now.Add(-2 * time.Hour)}, sent, pc, store.Subscriber{ID: 1}); o.Result != store.ResultExpired {
		t.Errorf("batch two hours past its instant with a 1h TTL: %+v, want expired", o)
	}
}

// TestLocalBatches: a page splits by instant (zones sharing an offset
// share one) and channel, in batches of at most the batch size.
func TestLocalBatches(t *testing.T) {
	sendAt := time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC)
	m := store.Message{ID: 3, AppID: "a", SendAt: sendAt, LocalTime: "09:00"}
	page := []store.Recipient{
		{ID: 1, Channel: store.ChannelWebPush, Timezone: "UTC"},
		{ID: 2, Channel: store.ChannelWebPush, Timezone: "Asia/Tehran"},
		{ID: 3, Channel: store.ChannelFCM, Timezone: ""},
		{ID: 4, Channel: store.ChannelWebPush, Timezone: "Etc/UTC"},
		{ID: 5, Channel: store.ChannelWebPush, Timezone: "Europe/London"}, // UTC in November
		{ID: 6, Channel: store.ChannelWebPush, Timezone: "Asia/Tehran"},
	}
	got, err := localBatches(m, page, zones{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	utc9 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	tehran9 := time.Date(2026, 11, 24, 5, 30, 0, 0, time.UTC)
	want := []deliverArgs{
		{AppID: "a", MessageID: 3, Channel: store.ChannelWebPush, IDs: []int64{1, 4}, LocalAt: utc9},
		{AppID: "a", MessageID: 3, Channel: store.ChannelWebPush, IDs: []int64{5}, LocalAt: utc9},
		{AppID: "a", MessageID: 3, Channel: store.ChannelWebPush, IDs: []int64{2, 6}, LocalAt: tehran9},
		{AppID: "a", MessageID: 3, Channel: store.ChannelFCM, IDs: []int64{3}, LocalAt: utc9},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d batches %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.AppID != w.AppID || g.MessageID != w.MessageID || g.Channel != w.Channel || !g.LocalAt.Equal(w.LocalAt) ||
			len(g.IDs) != len(w.IDs) || fmt.Sprint(g.IDs) != fmt.Sprint(w.IDs) {
			t.Errorf("batch %d = %+v, want %+v", i, g, w)
		}
	}
	if _, err := localBatches(store.Message{LocalTime: "25:00"}, page, zones{}, 2); err == nil {
		t.Error("a malformed local time was accepted")
	}
}
