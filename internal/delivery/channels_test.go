package delivery

import (
	"context"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/apns"
	"github.com/heraldpush/herald/internal/apns/apnstest"
	"github.com/heraldpush/herald/internal/store"
)

// TestAPNsBadDeviceTokenNeedsAConfirmedEnvironment: before any delivery
// for the app has succeeded, BadDeviceToken (which Apple also answers for
// the wrong environment) fails without pruning; afterwards it prunes.
func TestAPNsBadDeviceTokenNeedsAConfirmedEnvironment(t *testing.T) {
	srv := apnstest.Start(apnstest.Options{})
	defer srv.Close()
	key, err := srv.NewKey("TEAM123456", "KEY1234567", "com.example.app")
	if err != nil {
		t.Fatal(err)
	}
	creds := apns.Credentials{KeyID: "KEY1234567", TeamID: "TEAM123456", Topic: "com.example.app", Key: key}
	p := apns.NewPusher(func(context.Context, string) (apns.Credentials, error) { return creds, nil },
		apns.PusherOptions{Client: apns.Options{BaseURL: srv.URL(), TLS: srv.TLSConfig()}})
	defer p.Close()
	a := &APNs{P: p}
	bad1, good, bad2 := strings.Repeat("a1", 32), strings.Repeat("b2", 32), strings.Repeat("c3", 32)
	srv.Fail(bad1, apnstest.BadDeviceToken())
	srv.Fail(bad2, apnstest.BadDeviceToken())
	push := Push{AppID: "app_1", Payload: []byte(`{"id":"1","title":"t"}`)}
	ctx := context.Background()
	if at := a.Push(ctx, store.Subscriber{Token: bad1}, push); at.Result != store.ResultFailed || at.Reason != "BadDeviceToken unconfirmed" {
		t.Errorf("before a success: %+v", at)
	}
	if at := a.Push(ctx, store.Subscriber{Token: good}, push); at.Result != store.ResultSent {
		t.Fatalf("good token: %+v", at)
	}
	if at := a.Push(ctx, store.Subscriber{Token: bad2}, push); at.Result != store.ResultPruned {
		t.Errorf("after a success: %+v", at)
	}
	if at := a.Push(ctx, store.Subscriber{Token: bad1}, Push{AppID: "app_2", Payload: push.Payload}); at.Result != store.ResultFailed {
		t.Errorf("another app is not confirmed by app_1's success: %+v", at)
	}
}
