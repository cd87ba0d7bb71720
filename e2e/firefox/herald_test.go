package firefox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/cli"
)

// herald is Herald serving in-process on 127.0.0.1, with one app.
type herald struct {
	URL    string
	App    apps.Credentials
	logs   syncBuffer
	client *http.Client
}

// startHerald creates an app in a fresh data directory, then runs
// `herald serve` on 127.0.0.1:0, allowed to push to loopback (testpush),
// until the test ends.
func startHerald(t *testing.T, ctx context.Context) *herald {
	t.Helper()
	dir := t.TempDir()
	h := &herald{client: &http.Client{Timeout: 10 * time.Second}}
	env := func(stdout io.Writer) cli.Env {
		return cli.Env{Getenv: func(string) string { return "" }, Stdout: stdout, Stderr: &h.logs}
	}

	var out bytes.Buffer
	if code := cli.Run(ctx, []string{"app", "create", "--name", "ff", "--json", "--data", dir}, env(&out)); code != 0 {
		t.Fatalf("herald app create: exit %d: %s", code, h.logs.String())
	}
	if err := json.Unmarshal(out.Bytes(), &h.App); err != nil || h.App.APIKey == "" || h.App.VAPIDPublicKey == "" {
		t.Fatalf("herald app create --json printed %q (%v): want id, api_key and vapid_public_key", out.String(), err)
	}

	srvCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	addr := make(chan string, 1)
	done := make(chan int, 1)
	e := env(io.Discard)
	e.Listening = func(a string) { addr <- a }
	args := []string{"serve", "--data", dir, "--addr", "127.0.0.1:0", "--allow-endpoint", "127.0.0.1", "--log-level", "debug"}
	go func() { done <- cli.Run(srvCtx, args, e) }()
	select {
	case a := <-addr:
		h.URL = "http://" + a
	case code := <-done:
		cancel()
		t.Fatalf("herald serve exited %d before listening: %s", code, h.logs.String())
	case <-ctx.Done():
		cancel()
		t.Fatalf("herald serve did not listen: %v: %s", ctx.Err(), h.logs.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("herald serve exited %d: %s", code, h.logs.String())
			}
		case <-time.After(20 * time.Second):
			t.Errorf("herald serve did not stop within 20s of its context ending")
		}
	})
	return h
}

// call sends one /v1 request with the app's API key and returns the status
// and body. body is encoded as JSON unless nil.
func (h *herald) call(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.URL+path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+h.App.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return resp.StatusCode, b, nil
}

// logTail is the end of Herald's log.
func (h *herald) logTail() string {
	s := strings.TrimSpace(h.logs.String())
	if len(s) > maxOutput {
		s = "…" + s[len(s)-maxOutput:]
	}
	return s
}
