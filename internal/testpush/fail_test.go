package testpush

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestFailBehaviors(t *testing.T) {
	srv := start(t, Options{})
	c := srv.Client()
	sn := newSender(t)
	for _, tc := range []struct {
		name       string
		b          Behavior
		want       []int // statuses of consecutive pushes
		retryAfter string
	}{
		{"404", Respond(404), []int{404, 404}, ""},
		{"410", Respond(410), []int{410}, ""},
		{"413", Respond(413), []int{413}, ""},
		{"500", Respond(500), []int{500}, ""},
		{"429", RateLimited(1500 * time.Millisecond), []int{429}, "2"},
		{"503", Unavailable(time.Minute), []int{503}, "60"},
		{"503 no retry-after", Unavailable(0), []int{503}, ""},
		{"fail next 2", FailNext(2, 500), []int{500, 500, 201, 201}, ""},
		{"2xx is never faked", Respond(200), []int{201}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, err := srv.NewSubscription()
			if err != nil {
				t.Fatal(err)
			}
			srv.Fail(sub.ID, tc.b)
			for i, want := range tc.want {
				r := do(t, c, sn.request(t, sub, []byte("x")))
				if r.status != want {
					t.Fatalf("push %d: %d, want %d (%s)", i, r.status, want, r.body)
				}
				if want >= 400 && r.code != "injected" {
					t.Errorf("push %d: code %q, want injected", i, r.code)
				}
				if got := r.header.Get("Retry-After"); want >= 400 && got != tc.retryAfter {
					t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
				}
			}
			srv.Recover(sub.ID)
			if r := do(t, c, sn.request(t, sub, []byte("x"))); r.status != http.StatusCreated {
				t.Errorf("after Recover: %d", r.status)
			}
		})
	}
}

func TestFailSlow(t *testing.T) {
	srv := start(t, Options{Record: true})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	const delay = 50 * time.Millisecond
	srv.Fail(sub.ID, Slow(delay))
	begin := time.Now()
	r := do(t, srv.Client(), newSender(t).request(t, sub, []byte("slow")))
	if took := time.Since(begin); took < delay {
		t.Errorf("answered after %v, want at least %v", took, delay)
	}
	if r.status != http.StatusCreated || len(srv.Received(sub.ID)) != 1 {
		t.Fatalf("slow push: %d, %d recorded", r.status, len(srv.Received(sub.ID)))
	}
	// A sender that gives up during the delay gets nothing recorded.
	srv.Fail(sub.ID, Slow(time.Minute))
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	req := newSender(t).request(t, sub, []byte("gave up")).WithContext(ctx)
	requests := srv.Stats().Requests
	done := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("push during a one-minute delay answered %d", resp.StatusCode)
		}
		done <- err
	}()
	waitFor(t, "the server to start the delay", func() bool { return srv.Stats().Requests > requests })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned push: %v", err)
	}
	waitFor(t, "the abandoned push to be counted", func() bool { return srv.Stats().Rejected["injected"] == 1 })
	if n := len(srv.Received(sub.ID)); n != 1 {
		t.Errorf("%d recorded, want 1", n)
	}
}

func TestFailAllAndPrecedence(t *testing.T) {
	srv := start(t, Options{})
	subs, err := srv.NewSubscriptions(2)
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	sn := newSender(t)
	push := func(s Subscription) int { return do(t, c, sn.request(t, s, []byte("x"))).status }

	srv.FailAll(Respond(503))
	srv.Fail(subs[1].ID, Respond(410))
	if a, b := push(subs[0]), push(subs[1]); a != 503 || b != 410 {
		t.Fatalf("FailAll 503 and Fail 410: got %d and %d", a, b)
	}
	srv.RecoverAll()
	if a, b := push(subs[0]), push(subs[1]); a != 201 || b != 410 {
		t.Fatalf("after RecoverAll: got %d and %d", a, b)
	}
	// An id that does not exist can fail too: failures come first.
	srv.Fail("nope", Respond(500))
	if r := do(t, c, sn.requestBody(t, srv.URL()+"/wpush/nope", nil)); r.status != 500 {
		t.Fatalf("injected on unknown id: %d", r.status)
	}
	// FailAll with Times recovers by itself.
	srv.Recover(subs[1].ID)
	srv.FailAll(FailNext(1, 429))
	if a, b := push(subs[0]), push(subs[1]); a != 429 || b != 201 {
		t.Fatalf("FailAll(FailNext(1)): got %d then %d", a, b)
	}
}

func TestFailRate(t *testing.T) {
	srv := start(t, Options{FailRate: 0.25})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	sn := newSender(t)
	var failed int
	for range 20 {
		switch s := do(t, c, sn.request(t, sub, []byte("x"))).status; s {
		case 503:
			failed++
		case 201:
		default:
			t.Fatalf("status %d", s)
		}
	}
	if failed != 5 || srv.Count() != 15 {
		t.Fatalf("%d of 20 failed, %d accepted; want 5 and 15", failed, srv.Count())
	}
}
