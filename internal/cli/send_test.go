package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/cli"
)

// heraldExit runs a CLI command that must fail and returns its exit code
// and stderr.
func heraldExit(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, cli.Env{Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &errb})
	if code == 0 {
		t.Fatalf("herald %s succeeded: %s", strings.Join(args, " "), out.String())
	}
	return code, errb.String()
}

// TestSendCommand sends through herald send to a tag, waits for the
// delivery and reads the final counters; a message from a file goes too.
func TestSendCommand(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	tp := pushService(t)
	news, _ := subscribe(t, srv, a.APIKey, tp, 12, "news")
	other, _ := subscribe(t, srv, a.APIKey, tp, 3, "sport")
	env := map[string]string{"HERALD_SERVER": srv.URL, "HERALD_API_KEY": a.APIKey}

	out := herald(t, env, "send", "--tag", "news", "--title", "Hi", "--body", "there", "--ttl", "1h", "--request-id", "cli-1", "--wait", "--json")
	var m struct {
		ID        string `json:"id"`
		State     string `json:"state"`
		RequestID string `json:"request_id"`
		Targeted  int    `json:"targeted"`
		Sent      int    `json:"sent"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if m.State != "done" || m.Targeted != 12 || m.Sent != 12 || m.RequestID != "cli-1" {
		t.Fatalf("message %+v", m)
	}
	for _, s := range news {
		got := tp.Received(s.ID)
		if len(got) != 1 {
			t.Fatalf("%s got %d pushes", s.ID, len(got))
		}
		var p map[string]any
		json.Unmarshal(got[0].Payload, &p)
		if p["title"] != "Hi" || p["body"] != "there" || p["id"] != m.ID {
			t.Fatalf("payload %v", p)
		}
	}
	for _, s := range other {
		if n := len(tp.Received(s.ID)); n != 0 {
			t.Fatalf("untargeted %s got %d pushes", s.ID, n)
		}
	}

	file := filepath.Join(t.TempDir(), "m.json")
	os.WriteFile(file, []byte(`{"to":{"tags":["sport"]},"content":{"title":"Goal"}}`), 0o600)
	id := strings.TrimSpace(herald(t, env, "send", "--file", file))
	if done := waitDone(t, srv, a.APIKey, id, 30e9); done.Targeted != 3 || done.Sent != 3 {
		t.Fatalf("file message %+v", done)
	}

	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
		code int
		want string
	}{
		"no key":        {map[string]string{"HERALD_SERVER": srv.URL}, []string{"--all", "--title", "x"}, 2, "--api-key (or HERALD_API_KEY) is required"},
		"no target":     {env, []string{"--title", "x"}, 2, "say who gets it"},
		"no content":    {env, []string{"--all"}, 2, "at least --title or --body"},
		"all and tag":   {env, []string{"--all", "--tag", "a", "--title", "x"}, 2, "--all cannot be combined"},
		"file and flag": {env, []string{"--file", file, "--title", "x"}, 2, "--file carries the whole message"},
		"wrong key":     {map[string]string{"HERALD_SERVER": srv.URL, "HERALD_API_KEY": "hk_wrong"}, []string{"--all", "--title", "x"}, 1, "server answered 401"},
		"bad field":     {env, []string{"--all", "--title", "x", "--urgency", "asap"}, 1, "urgency"},
		"missing file":  {env, []string{"--file", filepath.Join(t.TempDir(), "none.json")}, 1, "no such file"},
	} {
		code, stderr := heraldExit(t, tc.env, append([]string{"send"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d with %q", name, code, stderr, tc.code, tc.want)
		}
	}
}

// TestVAPIDCommand generates a key pair, imports it into an app and sees
// the app answer with its public key.
func TestVAPIDCommand(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	var pair struct{ PublicKey, PrivateKey string }
	if err := json.Unmarshal([]byte(herald(t, nil, "vapid", "generate", "--json")), &pair); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "vapid.key")
	os.WriteFile(keyFile, []byte(pair.PrivateKey+"\n"), 0o600)
	var info struct {
		App       string `json:"app"`
		PublicKey string `json:"vapid_public_key"`
		Subject   string `json:"vapid_subject"`
	}
	out := herald(t, nil, "vapid", "set", "--data", data, "--app", a.ID, "--private-key-file", keyFile, "--subject", "mailto:ops@a.example", "--json")
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info.App != a.ID || info.PublicKey != pair.PublicKey || info.Subject != "mailto:ops@a.example" {
		t.Fatalf("vapid set: %+v, generated %s", info, pair.PublicKey)
	}
	srv := startServer(t, data)
	r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/app", bearer(a.APIKey), nil)
	if got := r.json(t)["vapid_public_key"]; got != pair.PublicKey {
		t.Fatalf("/v1/app vapid_public_key %v, want %s", got, pair.PublicKey)
	}

	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("!!!"), 0o600)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no change":   {[]string{"set", "--data", data, "--app", a.ID}, "at least one of"},
		"bad base64":  {[]string{"set", "--data", data, "--app", a.ID, "--private-key-file", bad}, "not base64url"},
		"bad subject": {[]string{"set", "--data", data, "--app", a.ID, "--subject", "ops"}, "not a mailto: or https: URI"},
		"unknown":     {[]string{"rotate"}, `unknown subcommand "rotate"`},
	} {
		if _, stderr := heraldExit(t, nil, append([]string{"vapid"}, tc.args...)...); !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: stderr %q, want %q", name, stderr, tc.want)
		}
	}
}
