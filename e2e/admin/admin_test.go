package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/cli"
	"github.com/heraldpush/herald/internal/testpush"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the screenshots to docs/screenshots")

// testTimeout bounds the whole run; it takes about ten seconds.
const testTimeout = 3 * time.Minute

// defaultChromium is Debian's chromium package's binary.
const defaultChromium = "/usr/bin/chromium"

// operatorPassword is what the test sets with herald admin set-password
// and types into the login form.
const operatorPassword = "e2e operator password"

// The screenshots admin.mjs takes, one per page.
var screenshots = []string{"login.png", "app-created.png", "app.png", "subscribers.png", "compose.png",
	"message.png", "messages.png", "segment.png", "segments.png", "apps.png", "message-phone.png"}

// syncBuffer collects output written from other goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tail is the end of s, where a failure's cause is.
func tail(s string) string {
	const max = 8 << 10
	s = strings.TrimSpace(s)
	if len(s) > max {
		s = "…" + s[len(s)-max:]
	}
	return s
}

// requirements finds node, Chromium and playwright-core, or fails: a run
// without them must not pass by skipping.
func requirements(t *testing.T) (node, chromium string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (%v): run scripts/install-test-deps", err)
	}
	chromium = os.Getenv("HERALD_CHROMIUM")
	if chromium == "" {
		chromium = defaultChromium
	}
	if info, err := os.Stat(chromium); err != nil || info.Mode()&0o111 == 0 {
		t.Fatalf("Chromium is not at %s (%v): run scripts/install-test-deps (Debian's chromium package)", chromium, err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("playwright-core is not installed in e2e/admin/node_modules (%v): run scripts/install-test-deps", err)
	}
	return node, chromium
}

// herald is Herald serving in-process on 127.0.0.1.
type herald struct {
	URL  string
	logs syncBuffer
}

// startHerald sets the operator password with the CLI, then runs herald
// serve on 127.0.0.1:0, allowed to push to loopback, until the test ends.
func startHerald(t *testing.T, ctx context.Context) *herald {
	t.Helper()
	h := &herald{}
	data := t.TempDir()
	pw := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pw, []byte(operatorPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cli.Env{Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: &h.logs}
	if code := cli.Run(ctx, []string{"admin", "set-password", "--data", data, "--password-file", pw}, env); code != 0 {
		t.Fatalf("herald admin set-password: exit %d: %s", code, h.logs.String())
	}
	srvCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	addr := make(chan string, 1)
	done := make(chan int, 1)
	env.Listening = func(a string) { addr <- a }
	args := []string{"serve", "--data", data, "--addr", "127.0.0.1:0", "--allow-endpoint", "127.0.0.1"}
	go func() { done <- cli.Run(srvCtx, args, env) }()
	select {
	case a := <-addr:
		h.URL = "http://" + a
	case code := <-done:
		cancel()
		t.Fatalf("herald serve exited %d before listening: %s", code, h.logs.String())
	case <-ctx.Done():
		cancel()
		t.Fatalf("herald serve did not listen: %v", ctx.Err())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("herald serve exited %d: %s", code, tail(h.logs.String()))
			}
		case <-time.After(20 * time.Second):
			t.Errorf("herald serve did not stop within 20s")
		}
	})
	return h
}

// call sends one /v1 request with an API key.
func (h *herald) call(ctx context.Context, key, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// appShown is what admin.mjs read off the page that showed the new app's
// credentials.
type appShown struct {
	ID             string `json:"id"`
	APIKey         string `json:"api_key"`
	VAPIDPublicKey string `json:"vapid_public_key"`
}

// The tag the message goes to, and how many subscribers carry it.
const (
	tag        = "news"
	tagMembers = 3
)

// TestAdminUI drives the admin UI in Chromium from login to a delivered
// message. admin.mjs holds the browser's side; it and this test talk over
// node's standard input and output: it prints "@@ <event> <json>" lines
// and waits for an answer where the Go side has work to do.
func TestAdminUI(t *testing.T) {
	node, chromium := requirements(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()

	push, err := testpush.Start(testpush.Options{Record: true, Verify: testpush.VerifyAll})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { push.Close() })
	h := startHerald(t, ctx)

	shots := t.TempDir()
	if *updateScreenshots {
		shots, err = filepath.Abs(filepath.Join("..", "..", "docs", "screenshots"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(node, "admin.mjs")
	cmd.Env = append(os.Environ(), "HERALD_URL="+h.URL, "ADMIN_PASSWORD="+operatorPassword, "SHOTS_DIR="+shots,
		"CHROMIUM="+chromium, "HOME="+t.TempDir(), "TAG="+tag, fmt.Sprintf("TAG_MEMBERS=%d", tagMembers))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	exited := make(chan error, 1)
	kill := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	t.Cleanup(kill)
	stop := context.AfterFunc(ctx, kill)
	defer stop()

	type event struct{ kind, arg string }
	events := make(chan event)
	var transcript syncBuffer
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(&transcript, line)
			if rest, ok := strings.CutPrefix(line, "@@ "); ok {
				kind, arg, _ := strings.Cut(rest, " ")
				events <- event{kind, arg}
			}
		}
		close(events)
		exited <- cmd.Wait()
	}()
	fail := func(format string, args ...any) {
		t.Helper()
		kill()
		t.Fatalf("%s\n--- admin.mjs said:\n%s\n--- its stderr:\n%s\n--- Herald's log:\n%s",
			fmt.Sprintf(format, args...), tail(transcript.String()), tail(stderr.String()), tail(h.logs.String()))
	}

	var app appShown
	var subs []testpush.Subscription
	var other testpush.Subscription
	var msgID string
	done := false
	for ev := range events {
		switch ev.kind {
		case "app":
			if err := json.Unmarshal([]byte(ev.arg), &app); err != nil || app.ID == "" || !strings.HasPrefix(app.APIKey, "hk_") {
				fail("the page showed the app as %s (%v)", ev.arg, err)
			}
			key, err := base64.RawURLEncoding.DecodeString(app.VAPIDPublicKey)
			if err != nil || len(key) != 65 {
				fail("the page showed the VAPID key %q (%v)", app.VAPIDPublicKey, err)
			}
			// Subscriptions made with the key the page showed: testpush
			// refuses pushes signed with any other.
			for i := range tagMembers + 1 {
				s, err := push.NewSubscriptionWithKey(key)
				if err != nil {
					fail("testpush: %v", err)
				}
				tags := []string{tag}
				if i == tagMembers {
					tags, other = []string{"sports"}, s
				} else {
					subs = append(subs, s)
				}
				status, body, err := h.call(ctx, app.APIKey, "POST", "/v1/subscribers",
					map[string]any{"type": "webpush", "subscription": s, "tags": tags, "language": "en", "timezone": "Europe/Berlin"})
				if err != nil || status != http.StatusCreated {
					fail("register with the API key the page showed: %d %s %v", status, body, err)
				}
			}
			fmt.Fprintf(stdin, "registered\n")
		case "message":
			msgID = strings.Trim(ev.arg, `"`)
		case "done":
			done = true
			stdin.Close()
		}
	}
	err = <-exited
	if err != nil || !done {
		fail("admin.mjs ended (%v) before it was done", err)
	}
	t.Logf("admin.mjs:\n%s", transcript.String())

	// What the UI showed was real: the message reached the tag's members.
	status, body, err := h.call(ctx, app.APIKey, "GET", "/v1/messages/"+msgID, nil)
	var m struct {
		State    string `json:"state"`
		Targeted int    `json:"targeted"`
		Sent     int    `json:"sent"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &m) != nil || m.State != "done" || m.Sent != tagMembers || m.Targeted != tagMembers {
		t.Fatalf("GET /v1/messages/%s: %d %s %v; want done, %d sent", msgID, status, body, err, tagMembers)
	}
	for _, s := range subs {
		got := push.Received(s.ID)
		var p struct{ Title, Body, URL string }
		if len(got) != 1 || !got[0].Decrypted || json.Unmarshal(got[0].Payload, &p) != nil || p.Title != "Flash sale" || p.URL != "https://shop.example/sale" {
			t.Errorf("subscriber %s received %+v", s.ID, got)
		}
	}
	if n := push.Deliveries(other.ID); n != 0 {
		t.Errorf("the subscriber without the tag got %d pushes", n)
	}
	for _, name := range screenshots {
		b, err := os.ReadFile(filepath.Join(shots, name))
		if err != nil || len(b) < 2000 || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("screenshot %s: %d bytes, %v; want a PNG", name, len(b), err)
		}
	}
}
