package storetest

import (
	"errors"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// testByToken: a device is found by its channel and token, in its own app
// only, and a token of another channel is not that device.
func testByToken(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	newApp(t, s, "a")
	newApp(t, s, "b")
	fcm := mustUpsert(t, s, device("a", store.ChannelFCM, "shared-token-1"))
	apns := mustUpsert(t, s, device("a", store.ChannelAPNs, "shared-token-1"))
	wp := mustUpsert(t, s, webpush("a", 7, "news"))
	other := mustUpsert(t, s, device("b", store.ChannelFCM, "shared-token-1"))
	for _, c := range []struct {
		app   string
		ch    store.Channel
		token string
		want  store.Subscriber
	}{
		{"a", store.ChannelFCM, "shared-token-1", fcm},
		{"a", store.ChannelAPNs, "shared-token-1", apns},
		{"a", store.ChannelWebPush, wp.Token, wp},
		{"b", store.ChannelFCM, "shared-token-1", other},
	} {
		got, err := s.SubscriberByToken(t.Context(), c.app, c.ch, c.token)
		if err != nil {
			t.Fatalf("SubscriberByToken(%s, %s, %s): %v", c.app, c.ch, c.token, err)
		}
		if got.RegistrationID != c.want.RegistrationID || got.ID != c.want.ID || got.Channel != c.ch {
			t.Errorf("SubscriberByToken(%s, %s, %s) = %s, want %s", c.app, c.ch, c.token, got.RegistrationID, c.want.RegistrationID)
		}
		checkSub(t, "SubscriberByToken", got, c.want)
	}
	for _, c := range []struct {
		app   string
		ch    store.Channel
		token string
	}{
		{"b", store.ChannelAPNs, "shared-token-1"}, // another app's device
		{"a", store.ChannelWebPush, "shared-token-1"},
		{"a", store.ChannelFCM, "no-such-token"},
		{"a", store.ChannelFCM, ""},
		{"nope", store.ChannelFCM, "shared-token-1"},
	} {
		if _, err := s.SubscriberByToken(t.Context(), c.app, c.ch, c.token); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SubscriberByToken(%s, %s, %q): err %v, want ErrNotFound", c.app, c.ch, c.token, err)
		}
	}
}
