package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/callback"
)

// hookReceiver is an app's callback endpoint: it checks every request's
// signature and records the events; it can answer 500 or hang.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	key      []byte
	mode     string // ok, fail (500, events still recorded: a receiver that processed them but crashed before answering), hang
	requests map[string]int
	events   []callback.Event // every event recorded, duplicates included
	accepted []callback.Event // events of requests answered 2xx
	bad      []string
	release  chan struct{}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	h := &hookReceiver{mode: "ok", requests: map[string]int{}, release: make(chan struct{})}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(func() { close(h.release); h.Close() })
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	mode := h.mode
	h.requests[mode]++
	if err := callback.Verify(h.key, r.Header.Get(callback.SignatureHeader), body, time.Now(), 0); err != nil {
		h.bad = append(h.bad, err.Error())
	}
	var b callback.Batch
	if err := json.Unmarshal(body, &b); err != nil {
		h.bad = append(h.bad, err.Error())
	}
	if mode != "hang" {
		h.events = append(h.events, b.Events...)
	}
	if mode == "ok" {
		h.accepted = append(h.accepted, b.Events...)
	}
	h.mu.Unlock()
	switch mode {
	case "hang":
		select {
		case <-h.release:
		case <-r.Context().Done():
		}
	case "fail":
		w.WriteHeader(http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *hookReceiver) setMode(m string) {
	h.mu.Lock()
	h.mode = m
	h.mu.Unlock()
}

// snapshot returns the events accepted (answered 2xx) so far, the
// requests per mode and any verification failures.
func (h *hookReceiver) snapshot() ([]callback.Event, map[string]int, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	req := map[string]int{}
	for k, v := range h.requests {
		req[k] = v
	}
	return append([]callback.Event(nil), h.accepted...), req, append([]string(nil), h.bad...)
}

// recorded returns every event the receiver recorded, 500s included.
func (h *hookReceiver) recorded() []callback.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]callback.Event(nil), h.events...)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// setHook points the app's callback at h through the API and gives h the secret.
func setHook(t *testing.T, srv *server, key string, h *hookReceiver) {
	t.Helper()
	r := do(t, http.DefaultClient, "PUT", srv.URL+"/v1/app/callback", bearer(key), map[string]any{"url": h.URL + "/herald?token=abc"})
	if r.Status != http.StatusOK {
		t.Fatalf("PUT callback: %d %s", r.Status, r.Body)
	}
	sec, _ := r.json(t)["secret"].(string)
	if !strings.HasPrefix(sec, "whsec_") {
		t.Fatalf("PUT callback answered %s, want a secret", r.Body)
	}
	h.mu.Lock()
	h.key = []byte(sec)
	h.mu.Unlock()
}

func TestCallbackSettingsThroughAPI(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	b := createApp(t, data, "B")
	srv := startServer(t, data)
	url := srv.URL + "/v1/app/callback"
	if r := do(t, http.DefaultClient, "GET", url, bearer(a.APIKey), nil); r.Status != http.StatusNotFound {
		t.Errorf("GET before set: %d %s", r.Status, r.Body)
	}
	for body, field := range map[string]string{`{"url":"ftp://x.example/"}`: "url", `{"url":""}`: "url", `{"uri":"https://x.example"}`: "uri"} {
		r := do(t, http.DefaultClient, "PUT", url, bearer(a.APIKey), body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"`+field+`"`) {
			t.Errorf("PUT %s: %d %s", body, r.Status, r.Body)
		}
	}
	r := do(t, http.DefaultClient, "PUT", url, bearer(a.APIKey), map[string]any{"url": "https://hooks.example/a"})
	sec := r.json(t)["secret"]
	if r.Status != http.StatusOK || sec == nil {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	r = do(t, http.DefaultClient, "GET", url, bearer(a.APIKey), nil)
	if r.Status != http.StatusOK || r.json(t)["url"] != "https://hooks.example/a" || strings.Contains(string(r.Body), "whsec_") {
		t.Errorf("GET shows %d %s", r.Status, r.Body)
	}
	r = do(t, http.DefaultClient, "PUT", url, bearer(a.APIKey), map[string]any{"url": "https://hooks.example/a2"})
	if _, shown := r.json(t)["secret"]; r.Status != http.StatusOK || shown {
		t.Errorf("a second PUT shows the kept secret again: %s", r.Body)
	}
	r = do(t, http.DefaultClient, "PUT", url, bearer(a.APIKey), map[string]any{"url": "https://hooks.example/a2", "rotate_secret": true})
	if s2 := r.json(t)["secret"]; s2 == nil || s2 == sec {
		t.Errorf("rotate: %s", r.Body)
	}
	if r := do(t, http.DefaultClient, "GET", url, bearer(b.APIKey), nil); r.Status != http.StatusNotFound {
		t.Errorf("app B sees A's callback: %d %s", r.Status, r.Body)
	}
	if r := do(t, http.DefaultClient, "DELETE", url, bearer(a.APIKey), nil); r.Status != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", r.Status, r.Body)
	}
	if r := do(t, http.DefaultClient, "DELETE", url, bearer(a.APIKey), nil); r.Status != http.StatusNotFound {
		t.Errorf("second DELETE: %d %s", r.Status, r.Body)
	}
}

func TestCallbackCLIPrintsSecretOnce(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	out := herald(t, nil, "app", "set-callback", "--app", a.ID, "--url", "https://hooks.example/x", "--json", "--data", data)
	var first struct{ URL, Secret string }
	if err := json.Unmarshal([]byte(out), &first); err != nil || first.URL != "https://hooks.example/x" || !strings.HasPrefix(first.Secret, "whsec_") {
		t.Fatalf("first set-callback printed %s (%v)", out, err)
	}
	out = herald(t, nil, "app", "set-callback", "--app", a.ID, "--url", "https://hooks.example/y", "--data", data)
	if strings.Contains(out, "whsec_") || !strings.Contains(out, "https://hooks.example/y") {
		t.Errorf("second set-callback printed %q", out)
	}
	herald(t, nil, "app", "clear-callback", "--app", a.ID, "--data", data)
}
