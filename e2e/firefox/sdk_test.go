package firefox

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/testpush"
)

var (
	//go:embed testdata/sdk_page.html
	sdkPageHTML []byte
	//go:embed testdata/sdk_sw.js
	sdkWorkerJS []byte
)

// The message TestFirefoxSDK sends.
const (
	sdkTitle = "Herald SDK"
	sdkBody  = "shown by herald-sw.js"
	sdkURL   = "https://example.test/from-sdk"
)

// sdkPage is the site of TestFirefoxSDK: a page that uses Herald's
// /sdk/herald.js and a same-origin /herald-sw.js that imports Herald's
// /sdk/herald-sw.js, on 127.0.0.1 (another origin than Herald's).
type sdkPage struct {
	*pageServer
	shown   chan string   // {"message":{…},"notifications":[titles]} from the page
	clicked chan string   // {"title","url","reported","showing"} from the worker
	release chan struct{} // closed when the page may click
}

// sdkConfig is GET /config of the SDK page.
type sdkConfig struct {
	Stats  string `json:"stats"`  // testpush's stats URL (the page waits for hello)
	App    string `json:"app"`    // the app id, for Herald.init
	Server string `json:"server"` // Herald's URL, for Herald.init and the worker
}

func newSDKPage(t *testing.T, cfg sdkConfig) *sdkPage {
	p := &sdkPage{
		pageServer: &pageServer{
			subscriptions: make(chan string, 1),
			errs:          make(chan string, 8),
			start:         time.Now(),
		},
		shown:   make(chan string, 4),
		clicked: make(chan string, 4),
		release: make(chan struct{}),
	}
	serve := func(contentType string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Cache-Control", "no-store")
			w.Write(body)
		}
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", serve("text/html; charset=utf-8", sdkPageHTML))
	mux.HandleFunc("GET /herald-sw.js", serve("text/javascript", sdkWorkerJS))
	mux.HandleFunc("GET /config", serve("application/json", cfgJSON))
	mux.HandleFunc("POST /progress", p.collect("", nil))
	mux.HandleFunc("POST /subscription", p.collect("subscription: ", p.subscriptions))
	mux.HandleFunc("POST /shown", p.collect("shown: ", p.shown))
	mux.HandleFunc("POST /clicked", p.collect("clicked: ", p.clicked))
	mux.HandleFunc("POST /error", p.collect("error: ", p.errs))
	// The page asks, and waits, for leave to click: the test first checks
	// that the received report counted on its own.
	mux.HandleFunc("GET /go-click", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-p.release:
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// TestFirefoxSDK is the SDK's whole path in a real browser: the page loads
// /sdk/herald.js from Herald and subscribes with Herald.subscribe(); the
// service worker is Herald's /sdk/herald-sw.js, imported by the site's
// same-origin /herald-sw.js. Herald sends; the worker shows the
// notification and reports received (checked in the message's stats);
// then a click, driven through the worker's click handler, reports clicked.
func TestFirefoxSDK(t *testing.T) {
	bin := lookFirefox(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()

	push, err := testpush.Start(testpush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { push.Close() })
	h := startHerald(t, ctx)
	page := newSDKPage(t, sdkConfig{Stats: push.URL() + "/_testpush/stats", App: h.App.ID, Server: h.URL})
	ff := startFirefox(t, bin, newProfile(t, push.WebSocketURL()), page.URL+"/")
	r := &run{t: t, ctx: ctx, start: time.Now(), push: push, herald: h, page: page.pageServer, ff: ff}

	// The page subscribes through the SDK, which registers with Herald.
	raw := r.await("the page's Herald.subscribe()", page.subscriptions)
	var got struct {
		RegistrationID string `json:"registration_id"`
		Token          string `json:"token"`
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil || !strings.HasPrefix(got.RegistrationID, "r_") || got.Token != got.RegistrationID {
		r.fatalf("the page reported %s (%v): want a registration_id, and getNotificationToken() giving it as the token", raw, err)
	}
	r.logf("Herald.subscribe() resolved to %s", got.RegistrationID)
	status, body := r.call(http.MethodGet, "/v1/subscribers/"+got.RegistrationID, nil)
	var sub struct {
		Type     string   `json:"type"`
		Endpoint string   `json:"endpoint"`
		Tags     []string `json:"tags"`
		Alias    string   `json:"alias"`
		Language string   `json:"language"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &sub) != nil || sub.Type != "webpush" ||
		!strings.HasPrefix(sub.Endpoint, push.URL()+"/wpush/") || strings.Join(sub.Tags, ",") != "e2e" || sub.Alias != "firefox-user" || sub.Language == "" {
		r.fatalf("GET /v1/subscribers/%s: %d %s; want a webpush endpoint on testpush, tag e2e, alias firefox-user and the browser's language", got.RegistrationID, status, body)
	}

	status, body = r.call(http.MethodPost, "/v1/messages", map[string]any{
		"to":      map[string]any{"registration_ids": []string{got.RegistrationID}},
		"content": map[string]string{"title": sdkTitle, "body": sdkBody, "url": sdkURL},
	})
	var sent struct {
		ID string `json:"id"`
	}
	if status != http.StatusAccepted || json.Unmarshal(body, &sent) != nil || sent.ID == "" {
		r.fatalf("POST /v1/messages: %d %s, want 202 with an id", status, body)
	}
	r.logf("Herald accepted message %s", sent.ID)

	// herald-sw.js showed it and told the page.
	raw = r.await("the worker's notification", page.shown)
	var shown struct {
		Message struct {
			MessageID string `json:"message_id"`
			Title     string `json:"title"`
			Body      string `json:"body"`
			URL       string `json:"url"`
		} `json:"message"`
		Notifications []string `json:"notifications"`
	}
	if err := json.Unmarshal([]byte(raw), &shown); err != nil {
		r.fatalf("the page reported %s: %v", raw, err)
	}
	if m := shown.Message; m.MessageID != sent.ID || m.Title != sdkTitle || m.Body != sdkBody || m.URL != sdkURL {
		r.fatalf("the worker showed %+v, want message %s with title %q, body %q, url %q", m, sent.ID, sdkTitle, sdkBody, sdkURL)
	}
	if len(shown.Notifications) != 1 || shown.Notifications[0] != sdkTitle {
		r.fatalf("notifications showing: %q, want [%q]", shown.Notifications, sdkTitle)
	}
	r.logf("herald-sw.js showed %q", sdkTitle)
	r.awaitCounters(sent.ID, "\"received\":1 and \"clicked\":0", func(m counters) bool { return m.Sent == 1 && m.Received == 1 && m.Clicked == 0 })
	r.logf("Herald counts the message received")

	close(page.release)
	raw = r.await("the worker's click", page.clicked)
	var click struct {
		Title    string   `json:"title"`
		URL      string   `json:"url"`
		Reported bool     `json:"reported"`
		Showing  []string `json:"showing"`
	}
	if err := json.Unmarshal([]byte(raw), &click); err != nil || click.Title != sdkTitle || click.URL != sdkURL || !click.Reported || len(click.Showing) != 0 {
		r.fatalf("the worker's click: %s (%v); want the notification %q with url %q, reported, and closed", raw, err, sdkTitle, sdkURL)
	}
	r.awaitCounters(sent.ID, "\"received\":1 and \"clicked\":1", func(m counters) bool { return m.Received == 1 && m.Clicked == 1 })
	r.logf("Herald counts the message clicked")
	status, body = r.call(http.MethodGet, "/v1/subscribers/"+got.RegistrationID, nil)
	var after struct {
		LastClickedAt *time.Time `json:"last_clicked_at"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &after) != nil || after.LastClickedAt == nil {
		r.fatalf("GET /v1/subscribers/%s after the click: %d %s; want last_clicked_at set", got.RegistrationID, status, body)
	}
}

// counters are the parts of GET /v1/messages/{id} the SDK test checks.
type counters struct {
	Sent     int64 `json:"sent"`
	Received int64 `json:"received"`
	Clicked  int64 `json:"clicked"`
}

// awaitCounters polls GET /v1/messages/{id} until ok holds.
func (r *run) awaitCounters(id, want string, ok func(counters) bool) {
	r.t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		status, body := r.call(http.MethodGet, "/v1/messages/"+id, nil)
		var m counters
		if status == http.StatusOK && json.Unmarshal(body, &m) == nil && ok(m) {
			return
		}
		select {
		case <-tick.C:
		case <-r.ctx.Done():
			r.fatalf("GET /v1/messages/%s: %d %s; want %s before the deadline", id, status, body, want)
		}
	}
}
