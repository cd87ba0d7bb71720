package fcm

import (
	"context"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/fcm/fcmtest"
)

// startFake starts a fake FCM and parses its first service account.
func startFake(t testing.TB, o fcmtest.Options) (*fcmtest.Server, ServiceAccount) {
	t.Helper()
	srv, err := fcmtest.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	sa, err := ParseServiceAccount(srv.ServiceAccount())
	if err != nil {
		t.Fatal(err)
	}
	return srv, sa
}

// clientFor returns a Client that talks to srv.
func clientFor(t testing.TB, srv *fcmtest.Server, sa ServiceAccount, o Options) *Client {
	t.Helper()
	o.BaseURL = srv.URL()
	c := NewClient(sa, o)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// testCtx is a context that ends with the test, well before go test's
// own timeout would.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
