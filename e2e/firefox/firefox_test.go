package firefox

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/testpush"
)

// testTimeout bounds the whole test, Firefox's start included; a run takes
// a few seconds.
const testTimeout = 50 * time.Second

// The message the test sends.
const (
	wantTitle = "Hello from Herald"
	wantBody  = "it works"
	wantURL   = "https://example.test/x"
)

// TestFirefoxReceivesHeraldPush is the whole path a push takes: a real
// Firefox subscribes with the app's VAPID key, the subscription is
// registered through Herald's API, Herald sends a message, the push service
// forwards it and the page's service worker decrypts and shows it.
func TestFirefoxReceivesHeraldPush(t *testing.T) {
	bin := lookFirefox(t)
	if !loopbackOnly() {
		t.Log("not in a loopback-only network namespace: Firefox may try to reach Mozilla's services (harmless; scripts/test isolates it)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()

	push, err := testpush.Start(testpush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { push.Close() })
	h := startHerald(t, ctx)
	page := newPageServer(t, pageConfig{Stats: push.URL() + "/_testpush/stats", VAPIDPublicKey: h.App.VAPIDPublicKey})
	ff := startFirefox(t, bin, newProfile(t, push.WebSocketURL()), page.URL+"/")
	r := &run{t: t, ctx: ctx, start: time.Now(), push: push, herald: h, page: page, ff: ff}

	hello := make(chan string, 1)
	go func() {
		if push.WaitBrowserHello(ctx, 1) == nil {
			hello <- "hello"
		}
	}()
	r.await("Firefox's push client to say hello to testpush", hello)
	r.logf("Firefox's push client said hello to testpush")

	// The page subscribes; the subscription must be testpush's, not Mozilla's.
	raw := r.await("the page's PushSubscription", page.subscriptions)
	var sub struct {
		Endpoint string `json:"endpoint"`
	}
	if err := json.Unmarshal([]byte(raw), &sub); err != nil || !strings.HasPrefix(sub.Endpoint, push.URL()+"/wpush/") {
		r.fatalf("the page's subscription %s (%v) has no endpoint on testpush (%s)", raw, err, push.URL())
	}

	status, body := r.call(http.MethodPost, "/v1/subscribers", map[string]any{"type": "webpush", "subscription": json.RawMessage(raw)})
	if status != http.StatusCreated {
		r.fatalf("POST /v1/subscribers: %d %s, want 201", status, body)
	}
	r.logf("the page subscribed; registered with Herald: %s", body)

	status, body = r.call(http.MethodPost, "/v1/messages", map[string]any{
		"to":      "all",
		"content": map[string]string{"title": wantTitle, "body": wantBody, "url": wantURL},
	})
	var sent struct {
		ID string `json:"id"`
	}
	if status != http.StatusAccepted || json.Unmarshal(body, &sent) != nil || sent.ID == "" {
		r.fatalf("POST /v1/messages: %d %s, want 202 with an id", status, body)
	}
	r.logf("Herald accepted message %s", sent.ID)

	r.checkPush(r.await("the service worker's push event", page.pushes), sent.ID)
	r.logf("the service worker got the payload and showed the notification")
	r.awaitSent(sent.ID)
	r.logf("Herald counts the message sent")
	if st := push.Stats(); st.Accepted != 1 || len(st.Rejected) != 0 {
		r.fatalf("testpush accepted %d pushes and rejected %v, want exactly one accepted", st.Accepted, st.Rejected)
	}
}

// checkPush checks what the service worker reported: the decrypted payload
// is the message, and its notification is showing.
func (r *run) checkPush(report, msgID string) {
	r.t.Helper()
	var got struct {
		Payload       string   `json:"payload"`
		Notifications []string `json:"notifications"`
	}
	if err := json.Unmarshal([]byte(report), &got); err != nil {
		r.fatalf("service worker report %s: %v", report, err)
	}
	var p struct {
		ID    string `json:"id"`
		Title string `json:"title"`
		Body  string `json:"body"`
		URL   string `json:"url"`
	}
	if err := json.Unmarshal([]byte(got.Payload), &p); err != nil {
		r.fatalf("payload %q is not JSON: %v", got.Payload, err)
	}
	if p.ID != msgID || p.Title != wantTitle || p.Body != wantBody || p.URL != wantURL {
		r.fatalf("payload %s, want id %q, title %q, body %q, url %q", got.Payload, msgID, wantTitle, wantBody, wantURL)
	}
	if len(got.Notifications) != 1 || got.Notifications[0] != wantTitle {
		r.fatalf("notifications showing: %q, want [%q]", got.Notifications, wantTitle)
	}
}

// awaitSent polls GET /v1/messages/{id} until Herald counts the push sent.
func (r *run) awaitSent(id string) {
	r.t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		status, body := r.call(http.MethodGet, "/v1/messages/"+id, nil)
		var m struct {
			Sent int64 `json:"sent"`
		}
		if status == http.StatusOK && json.Unmarshal(body, &m) == nil && m.Sent == 1 {
			return
		}
		select {
		case <-tick.C:
		case <-r.ctx.Done():
			r.fatalf("GET /v1/messages/%s: %d %s; want \"sent\":1 before the deadline", id, status, body)
		}
	}
}

// run is one test's moving parts, for waiting and for failure messages
// that show what each of them did.
type run struct {
	t      *testing.T
	ctx    context.Context
	start  time.Time // when Firefox was started
	push   *testpush.Server
	herald *herald
	page   *pageServer
	ff     *browser
}

// await returns the next value on ch, or fails the test if the page or the
// service worker reports an error, Firefox exits, or the deadline passes.
func (r *run) await(what string, ch <-chan string) string {
	r.t.Helper()
	select {
	case v := <-ch:
		return v
	case e := <-r.page.errs:
		r.fatalf("waiting for %s: %s", what, e)
	case <-r.ff.exited:
		r.fatalf("waiting for %s: Firefox exited: %v", what, r.ff.err)
	case <-r.ctx.Done():
		r.fatalf("waiting for %s: %v", what, r.ctx.Err())
	}
	return ""
}

// logf logs a step with the time since Firefox was started.
func (r *run) logf(format string, args ...any) {
	r.t.Helper()
	r.t.Logf("%6s  %s", time.Since(r.start).Round(time.Millisecond), fmt.Sprintf(format, args...))
}

// call is herald.call that fails the test on a transport error.
func (r *run) call(method, path string, body any) (int, []byte) {
	r.t.Helper()
	status, b, err := r.herald.call(r.ctx, method, path, body)
	if err != nil {
		r.fatalf("%v", err)
	}
	return status, b
}

// fatalf fails the test with everything that says why: what the page
// reported, testpush's counters, and the ends of Herald's and Firefox's
// output.
func (r *run) fatalf(format string, args ...any) {
	r.t.Helper()
	stats, _ := json.Marshal(r.push.Stats())
	r.t.Fatalf("%s\n\n--- page and service worker:\n%s\n\n--- testpush stats: %s\n\n--- herald log:\n%s\n\n--- firefox output:\n%s",
		fmt.Sprintf(format, args...), r.page.report(), stats, r.herald.logTail(), r.ff.output())
}

// loopbackOnly reports whether every network interface is a loopback one,
// as in the namespace scripts/test runs this test in.
func loopbackOnly() bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return false
		}
	}
	return true
}
