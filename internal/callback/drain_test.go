package callback

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/delivery"
)

var _ delivery.JobSet = (*Drainer)(nil)

func TestDrainBatchesInOrderAndSigns(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t)
	r.setup(t, rc)
	r.events(t, 7, 0)
	d, obs := r.drainer(rc.Client(), Options{BatchSize: 3})
	if err := d.Drain(t.Context(), r.app); err != nil {
		t.Fatal(err)
	}
	batches, bad := rc.got()
	if len(bad) > 0 {
		t.Fatalf("receiver refused requests: %v", bad)
	}
	var sizes []int
	var ids []string
	for _, b := range batches {
		sizes = append(sizes, len(b.Events))
		if b.AppID != r.app {
			t.Errorf("batch app %q", b.AppID)
		}
		for _, e := range b.Events {
			ids = append(ids, e.ID)
			if e.Type != "received" || e.MessageID == "" || e.RequestID != "req-9" || string(e.CustomArgs) != `{"k":"v"}` || e.RegistrationID == "" || e.At.IsZero() {
				t.Errorf("event %+v", e)
			}
		}
	}
	if len(sizes) != 3 || sizes[0] != 3 || sizes[1] != 3 || sizes[2] != 1 {
		t.Fatalf("batch sizes %v, want [3 3 1]", sizes)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] && len(ids[i]) <= len(ids[i-1]) {
			t.Errorf("events out of order: %v", ids)
		}
	}
	if left := r.pending(t); len(left) != 0 {
		t.Errorf("%d events left in the outbox after delivery", len(left))
	}
	if obs.delivered != 3 || obs.deliveredEvents != 7 || obs.failed != 0 {
		t.Errorf("observer %+v", obs)
	}
}

func TestDrainRetriesWithBackoffAndRetryAfter(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t)
	r.setup(t, rc)
	r.events(t, 2, 0)
	d, obs := r.drainer(rc.Client(), Options{BackoffBase: time.Second, BackoffMax: time.Minute})

	rc.set(http.StatusServiceUnavailable, "120")
	if err := d.Drain(t.Context(), r.app); err != nil {
		t.Fatal(err)
	}
	left := r.pending(t)
	if len(left) != 2 || left[0].Attempts != 1 {
		t.Fatalf("after a 503: %+v", left)
	}
	// Retry-After 120 beats the 1s backoff: nothing is due a minute later.
	r.advance(time.Minute)
	if evs, _ := r.st.DueCallbackEvents(t.Context(), r.app, r.clock(), 10); len(evs) != 0 {
		t.Fatalf("due before Retry-After: %d", len(evs))
	}
	if err := d.Drain(t.Context(), r.app); err != nil {
		t.Fatal(err)
	}
	if obs.failed != 1 {
		t.Fatalf("posted before due: %+v", obs)
	}
	// After it, the receiver is back: the events go, marked as a retry.
	r.advance(2 * time.Minute)
	rc.set(http.StatusOK, "")
	if err := d.Drain(t.Context(), r.app); err != nil {
		t.Fatal(err)
	}
	if batches, _ := rc.got(); len(batches) != 1 || len(batches[0].Events) != 2 {
		t.Fatalf("after recovery: %+v", batches)
	}
	if obs.delivered != 1 || obs.retried != 1 || obs.deferred != 2 || obs.givenUp != 0 {
		t.Errorf("observer %+v", obs)
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	d := NewDrainer(nil, nil, nil, Options{BackoffBase: time.Second, BackoffMax: 30 * time.Second})
	for n, base := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second} {
		for range 50 {
			if b := d.backoff(n); b < base/2 || b > base*3/2 {
				t.Fatalf("backoff(%d) = %v, want within ±50%% of %v", n, b, base)
			}
		}
	}
}

func TestDrainGivesUpAfterMaxAttemptsWithoutLoggingSecrets(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t)
	r.setup(t, rc)
	r.events(t, 3, 0)
	var logs bytes.Buffer
	obs := &countObserver{}
	d := NewDrainer(r.st, r.svc, slog.New(slog.NewTextHandler(&logs, nil)),
		Options{MaxAttempts: 3, BackoffBase: time.Second, Client: rc.Client(), Observer: obs, Now: r.clock})
	rc.set(http.StatusInternalServerError, "")
	for range 3 {
		if err := d.Drain(t.Context(), r.app); err != nil {
			t.Fatal(err)
		}
		r.advance(time.Hour)
	}
	if left := r.pending(t); len(left) != 0 {
		t.Fatalf("%d events left after %d attempts", len(left), 3)
	}
	if obs.failed != 3 || obs.givenUp != 3 || obs.deferred != 6 {
		t.Errorf("observer %+v", obs)
	}
	l := logs.String()
	if !strings.Contains(l, "callback events given up") || !strings.Contains(l, "status 500") {
		t.Errorf("logs lack the give-up: %s", l)
	}
	if strings.Contains(l, "t0ps3cret") || strings.Contains(l, "/hook") || strings.Contains(l, string(rc.key)) {
		t.Errorf("logs leak the URL or the secret: %s", l)
	}
}

func TestDrainTimeoutAndNetworkErrorsAreRetriedWithoutTheURL(t *testing.T) {
	r := newRig(t)
	hang := make(chan struct{})
	rc := newReceiver(t)
	rc.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		select {
		case <-hang:
		case <-req.Context().Done():
		}
	})
	defer close(hang)
	r.setup(t, rc)
	r.events(t, 1, 0)
	var logs bytes.Buffer
	d := NewDrainer(r.st, r.svc, slog.New(slog.NewTextHandler(&logs, nil)),
		Options{Client: NewHTTPClient(200 * time.Millisecond), Now: r.clock})
	if err := d.Drain(t.Context(), r.app); err != nil {
		t.Fatal(err)
	}
	if left := r.pending(t); len(left) != 1 || left[0].Attempts != 1 {
		t.Fatalf("after a timeout: %+v", left)
	}
	if !strings.Contains(logs.String(), "reason=timeout") || strings.Contains(logs.String(), "t0ps3cret") {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestDrainRefusesRedirects(t *testing.T) {
	r := newRig(t)
	rc := newReceiver(t)
	target := newReceiver(t)
	rc.Config.Handler = http.RedirectHandler(target.URL, http.StatusTemporaryRedirect)
	r.setup(t, rc)
	r.events(t, 1, 0)
	d, obs := r.drainer(NewHTTPClient(time.Second), Options{})
	if err := d.Drain(t.Context(), r.app); err != nil {
		t.Fatal(err)
	}
	if got, _ := target.got(); len(got) != 0 || obs.failed != 1 {
		t.Fatalf("redirect followed: target got %d batches, failed %d", len(got), obs.failed)
	}
}
