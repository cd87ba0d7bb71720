package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/cli"
	"github.com/heraldpush/herald/internal/testpush"
)

// heraldFails runs a command that must fail and returns its stderr.
func heraldFails(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Run(context.Background(), args, cli.Env{Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &errb}); code == 0 {
		t.Fatalf("herald %s succeeded: %s", strings.Join(args, " "), out.String())
	}
	return errb.String()
}

func TestAdminSetPasswordAndLogin(t *testing.T) {
	data := t.TempDir()
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("short\n"), 0o600)
	if msg := heraldFails(t, nil, "admin", "set-password", "--data", data, "--password-file", pwFile); !strings.Contains(msg, "at least 12") {
		t.Errorf("a short password: %s", msg)
	}
	if msg := heraldFails(t, nil, "admin", "set-password", "--data", data); !strings.Contains(msg, "--password-file") {
		t.Errorf("no password file: %s", msg)
	}
	heraldFails(t, nil, "admin", "frobnicate")
	os.WriteFile(pwFile, []byte("the operator's password\n"), 0o600)
	out := herald(t, map[string]string{"HERALD_DATA": data}, "admin", "set-password", "--password-file", pwFile)
	hash, err := os.ReadFile(filepath.Join(data, "admin-password"))
	if err != nil || !strings.HasPrefix(string(hash), "$argon2id$") || strings.Contains(string(hash), "operator") || !strings.Contains(out, data) {
		t.Fatalf("set-password printed %q and wrote %q, %v", out, hash, err)
	}

	srv := startServer(t, data)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		res, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	status, body := get("/admin/")
	token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(body)
	if status != http.StatusOK || token == nil {
		t.Fatalf("GET /admin/ logged out: %d, want the login form:\n%s", status, body)
	}
	res, err := c.PostForm(srv.URL+"/admin/login", url.Values{"token": {token[1]}, "password": {"the operator's password"}, "next": {"/admin/apps"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "Create an app") {
		t.Fatalf("login with the password set by the CLI: %d\n%s", res.StatusCode, b)
	}
}

func TestAdminPasswordFromEnv(t *testing.T) {
	out := herald(t, map[string]string{"HERALD_ADMIN_PASSWORD": "a long enough password"}, "config")
	if !strings.Contains(out, "admin-password=REDACTED") || strings.Contains(out, "long enough") {
		t.Errorf("herald config: %s", out)
	}
	// A password too short to use stops the server at start-up.
	var errb bytes.Buffer
	code := cli.Run(context.Background(), []string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"},
		cli.Env{Getenv: func(k string) string {
			if k == "HERALD_ADMIN_PASSWORD" {
				return "short"
			}
			return ""
		}, Stdout: io.Discard, Stderr: &errb})
	if code == 0 || !strings.Contains(errb.String(), "admin-password") {
		t.Errorf("serve with a short admin password: exit %d: %s", code, errb.String())
	}
}

// TestMessageStatsAndPreview covers GET /v1/messages/{id}/stats and POST
// /v1/messages/preview-audience through a real send.
func TestMessageStatsAndPreview(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	b := createApp(t, data, "B")
	srv := startServer(t, data)
	tp := pushService(t)
	subs, _ := subscribe(t, srv, a.APIKey, tp, 5, "news")
	subscribe(t, srv, a.APIKey, tp, 2, "sports")
	subscribe(t, srv, b.APIKey, tp, 3, "news")

	for _, c := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"to":"all"}`, 200, `{"count":7}`},
		{`{"to":{"tags":["news"]}}`, 200, `{"count":5}`},
		{`{"to":{"tags":["news","sports"],"tags_not":["sports"]}}`, 200, `{"count":5}`},
		{`{"to":{"tags":["nobody"]},"content":{"title":"x"},"ttl":60}`, 200, `{"count":0}`},
		{`{"to":{"tags_not":["news"]}}`, 400, `"field":"to.tags_not"`},
		{`{"to":{}}`, 400, `"code":"invalid_field"`},
		{`{"to":{"segments":[1]}}`, 400, `"message":"to.segments[0]: no segment with id 1","field":"to.segments[0]"`},
		{`{"to":{"tagz":["news"]}}`, 400, `"code":"unknown_field"`},
		{`{}`, 400, `"field":"to"`},
	} {
		r := do(t, http.DefaultClient, "POST", srv.URL+"/v1/messages/preview-audience", bearer(a.APIKey), c.body)
		if r.Status != c.status || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("preview %s: %d %s, want %d %s", c.body, r.Status, r.Body, c.status, c.want)
		}
	}
	if r := do(t, http.DefaultClient, "POST", srv.URL+"/v1/messages/preview-audience", "", `{"to":"all"}`); r.Status != http.StatusUnauthorized {
		t.Errorf("preview without a key: %d", r.Status)
	}

	tp.Fail(subs[0].ID, testpush.Respond(http.StatusGone))
	id := sendMessage(t, srv, a.APIKey, map[string]any{"to": map[string]any{"tags": []string{"news"}}, "content": map[string]any{"title": "T"}})
	m := waitDone(t, srv, a.APIKey, id, 30*time.Second)
	r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages/"+id+"/stats", bearer(a.APIKey), nil)
	var st struct {
		ID       string `json:"id"`
		State    string `json:"state"`
		Counters struct {
			Targeted, Sent, Failed, Pruned, Expired, Received, Clicked int64
		} `json:"counters"`
		FailedReasons map[string]int64 `json:"failed_reasons"`
		Timeline      []struct {
			At                            time.Time
			Sent, Failed, Pruned, Expired int64
		} `json:"timeline"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &st) != nil {
		t.Fatalf("stats: %d %s", r.Status, r.Body)
	}
	if st.ID != id || st.State != "done" || st.Counters.Targeted != 5 || int(st.Counters.Sent) != m.Sent || st.Counters.Pruned != 1 || st.FailedReasons == nil {
		t.Errorf("stats %+v, message %+v", st, m)
	}
	var sent, pruned int64
	for i, p := range st.Timeline {
		sent, pruned = sent+p.Sent, pruned+p.Pruned
		if p.At.IsZero() || p.At.Nanosecond() != 0 || i > 0 && !st.Timeline[i-1].At.Before(p.At) {
			t.Errorf("timeline point %d at %v", i, p.At)
		}
	}
	if sent != 4 || pruned != 1 {
		t.Errorf("timeline adds up to %d sent, %d pruned; want 4 and 1: %s", sent, pruned, r.Body)
	}
	if r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages/"+id+"/stats", bearer(b.APIKey), nil); r.Status != http.StatusNotFound {
		t.Errorf("A's message stats with B's key: %d", r.Status)
	}
	if r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages/99999/stats", bearer(a.APIKey), nil); r.Status != http.StatusNotFound {
		t.Errorf("stats of no message: %d", r.Status)
	}
}
