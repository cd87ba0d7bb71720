//go:build firefox

// This file runs a real Firefox against testpush. It needs firefox-esr on
// PATH and is built only with -tags firefox. Run it with loopback alone, so
// Firefox's calls home fail at once rather than wait on DNS:
//
//	unshare -n sh -c 'ip link set lo up && go test -tags firefox -run Firefox ./internal/testpush'

package testpush

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/webpush"
)

// firefoxPage waits until Firefox's push client said hello to testpush
// (subscribing earlier hangs forever), subscribes and posts the
// subscription back.
const firefoxPage = `<!doctype html><meta charset=utf-8><title>push</title><script>
async function main() {
  for (;;) {
    const st = await (await fetch(STATS)).json();
    if (st.browser_hellos > 0) break;
    await new Promise(r => setTimeout(r, 50));
  }
  const reg = await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  const sub = await reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: KEY});
  await fetch('/sub', {method: 'POST', body: JSON.stringify(sub)});
}
main().catch(e => fetch('/err', {method: 'POST', body: String(e)}));
</script>`

// firefoxSW reports each decrypted payload and shows a notification, so no
// push quota is spent.
const firefoxSW = `self.addEventListener('push', e => {
  const t = e.data ? e.data.text() : '';
  e.waitUntil(Promise.all([
    fetch('/got', {method: 'POST', body: t}),
    self.registration.showNotification('herald', {body: t}),
  ]));
});`

// firefoxPrefs are the prefs of shared/interop/firefox-push.md.
const firefoxPrefs = `user_pref("dom.push.serverURL", %q);
user_pref("dom.push.testing.allowInsecureServerURL", true);
user_pref("dom.push.testing.ignorePermission", true);
user_pref("permissions.default.desktop-notification", 1);
user_pref("dom.push.connection.enabled", true);
user_pref("app.update.enabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
`

// pageServer serves the test page and collects what it posts back.
type pageServer struct {
	*httptest.Server
	subs, got, errs chan string
}

func newPageServer(t *testing.T, srv *Server, key []byte) *pageServer {
	p := &pageServer{subs: make(chan string, 1), got: make(chan string, 8), errs: make(chan string, 8)}
	collect := func(ch chan string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			ch <- string(b)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<script>const STATS=%q; const KEY=%q;</script>%s",
			srv.URL()+"/_testpush/stats", webpush.EncodeBase64(key), firefoxPage)
	})
	mux.HandleFunc("GET /sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, firefoxSW)
	})
	mux.HandleFunc("POST /sub", collect(p.subs))
	mux.HandleFunc("POST /got", collect(p.got))
	mux.HandleFunc("POST /err", collect(p.errs))
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// runFirefox starts headless Firefox on profile and returns a stop func.
func runFirefox(t *testing.T, ctx context.Context, profile, url string) func() {
	t.Helper()
	cmd := exec.CommandContext(ctx, "firefox-esr", "--headless", "--no-remote", "--profile", profile, url)
	cmd.Env = append(os.Environ(), "HOME="+filepath.Dir(profile))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start firefox: %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestFirefox(t *testing.T) {
	ctx := testContext(t)
	srv := start(t, Options{})
	sn := newSender(t)
	page := newPageServer(t, srv, sn.key.PublicKey())
	profile := filepath.Join(t.TempDir(), "profile")
	if err := os.Mkdir(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), fmt.Appendf(nil, firefoxPrefs, srv.WebSocketURL()), 0o600); err != nil {
		t.Fatal(err)
	}
	stop := runFirefox(t, ctx, profile, page.URL+"/page")

	var raw string
	select {
	case raw = <-page.subs:
	case e := <-page.errs:
		t.Fatalf("page: %s", e)
	case <-ctx.Done():
		t.Fatalf("no subscription; stats %+v", srv.Stats())
	}
	var js Subscription
	if err := json.Unmarshal([]byte(raw), &js); err != nil {
		t.Fatalf("subscription %s: %v", raw, err)
	}
	ws, err := js.WebPush()
	if err != nil {
		t.Fatal(err)
	}
	send := func(text string) {
		t.Helper()
		res, err := webpush.Send(ctx, srv.Client(), ws, webpush.Message{Payload: []byte(text), TTL: time.Minute}, sn.signer)
		if err != nil || res.Outcome != webpush.Delivered {
			t.Fatalf("send %q: %+v, %v", text, res, err)
		}
	}
	receive := func(want string) {
		t.Helper()
		select {
		case got := <-page.got:
			if got != want {
				t.Fatalf("service worker got %q, want %q", got, want)
			}
		case <-ctx.Done():
			t.Fatalf("no push event for %q; stats %+v", want, srv.Stats())
		}
	}
	send("first from herald")
	receive("first from herald")
	send("second from herald")
	receive("second from herald")
	waitFor(t, "two acks", func() bool { return srv.Stats().Acked == 2 })

	// Offline: Firefox gets the message when it comes back with its uaid.
	// It is killed, so wait until it has saved the uaid testpush gave it
	// (prefs.js is written a moment after the pref changes); without it
	// the next Firefox says hello as a new browser and never sees the
	// message.
	waitFor(t, "Firefox to save its push uaid", func() bool {
		b, err := os.ReadFile(filepath.Join(profile, "prefs.js"))
		return err == nil && bytes.Contains(b, []byte(`"dom.push.userAgentID"`))
	})
	stop()
	waitFor(t, "Firefox's socket to close", func() bool { return srv.Stats().BrowserConnected == 0 })
	send("while offline")
	runFirefox(t, ctx, profile, "about:blank")
	receive("while offline")
	waitFor(t, "the third ack", func() bool { return srv.Stats().Acked == 3 })
	// The second Firefox may reconnect its push socket (a third hello,
	// and the message forwarded again until acked); nothing is lost.
	if st := srv.Stats(); st.BrowserHellos < 2 || st.Accepted != 3 || len(st.Rejected) != 0 {
		t.Fatalf("stats %+v", st)
	}
}
