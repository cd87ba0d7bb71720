package delivery

import (
	"context"
	"crypto/tls"
	"net/http"
	"path"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/testpush"
)

// TestWebPushDefaultTransport: with Protocols unset, an https origin is
// served by h2client's transport; every payload decrypts at testpush, a
// 410 prunes, and Close leaves the channel able to reconnect.
func TestWebPushDefaultTransport(t *testing.T) {
	tp, subs, key, policy := webPushRig(t, 40, testpush.VerifyAll)
	wp := NewWebPush(fixedKeys{key}, policy, WebPushOptions{TLS: &tls.Config{RootCAs: tp.CertPool(), MinVersion: tls.VersionTLS12}}, nil)
	defer wp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	push := Push{AppID: "a", Payload: []byte("hello over h2client"), TTL: time.Hour}
	tp.Fail(path.Base(subs[0].Token), testpush.Respond(http.StatusGone)) // the endpoint ends in its id
	results := make([]Attempt, len(subs))
	var wg sync.WaitGroup
	for i := range subs {
		wg.Go(func() { results[i] = wp.Push(ctx, subs[i], push) })
	}
	wg.Wait()
	for i, at := range results {
		want := store.ResultSent
		if i == 0 {
			want = store.ResultPruned
		}
		if at.Result != want {
			t.Errorf("push %d: %+v, want %s", i, at, want)
		}
	}
	if st := tp.Stats(); st.Accepted != uint64(len(subs)-1) || st.Decrypted != st.Accepted {
		t.Errorf("testpush accepted %d and decrypted %d, want %d each", st.Accepted, st.Decrypted, len(subs)-1)
	}
	o, err := wp.origin(subs[1].Token)
	if err != nil {
		t.Fatal(err)
	}
	if o.h2 == nil {
		t.Error("the https origin does not use h2client")
	}
	wp.Close()
	if at := wp.Push(ctx, subs[1], push); at.Result != store.ResultSent {
		t.Errorf("push after Close: %+v", at)
	}
}

func TestLeanHTTP2(t *testing.T) {
	var h1, h2, h2c, both http.Protocols
	h1.SetHTTP1(true)
	h2.SetHTTP2(true)
	h2c.SetUnencryptedHTTP2(true)
	both.SetHTTP1(true)
	both.SetHTTP2(true)
	for _, tc := range []struct {
		name string
		p    *http.Protocols
		want bool
	}{{"nil", nil, true}, {"HTTP/2", &h2, true}, {"HTTP/1.1", &h1, false}, {"h2c", &h2c, false}, {"HTTP/1.1 and HTTP/2", &both, false}} {
		if got := leanHTTP2(tc.p); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
