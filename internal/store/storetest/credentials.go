package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// testChannelCredentials covers the ChannelCredentials methods.
func testChannelCredentials(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	for _, id := range []string{"app_a", "app_b"} {
		if err := st.CreateApp(ctx, store.App{ID: id, Name: id, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ChannelCredentials(ctx, "app_a", store.ChannelFCM); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("none yet: %v", err)
	}
	c := store.SealedCredentials{Sealed: []byte("sealed-1"), Meta: []byte(`{"project_id":"p"}`), UpdatedAt: time.UnixMilli(1_700_000_000_000).UTC()}
	if err := st.SetChannelCredentials(ctx, "app_a", store.ChannelFCM, c); err != nil {
		t.Fatal(err)
	}
	got, err := st.ChannelCredentials(ctx, "app_a", store.ChannelFCM)
	if err != nil || string(got.Sealed) != "sealed-1" || string(got.Meta) != `{"project_id":"p"}` || !got.UpdatedAt.Equal(c.UpdatedAt) {
		t.Fatalf("got %+v, %v", got, err)
	}
	c.Sealed = []byte("sealed-2")
	if err := st.SetChannelCredentials(ctx, "app_a", store.ChannelFCM, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.ChannelCredentials(ctx, "app_a", store.ChannelFCM); string(got.Sealed) != "sealed-2" {
		t.Errorf("replace: %s", got.Sealed)
	}
	// Another channel and another app are separate.
	if _, err := st.ChannelCredentials(ctx, "app_a", store.ChannelAPNs); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("apns of app_a: %v", err)
	}
	if _, err := st.ChannelCredentials(ctx, "app_b", store.ChannelFCM); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("fcm of app_b: %v", err)
	}
	if err := st.DeleteChannelCredentials(ctx, "app_b", store.ChannelFCM); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app_b deleting app_a's credentials: %v", err)
	}
	if err := st.SetChannelCredentials(ctx, "app_none", store.ChannelFCM, c); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("credentials for an unknown app: %v", err)
	}
	if err := st.DeleteChannelCredentials(ctx, "app_a", store.ChannelFCM); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ChannelCredentials(ctx, "app_a", store.ChannelFCM); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}
