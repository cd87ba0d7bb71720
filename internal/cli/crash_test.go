package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/testpush"
)

// binDir holds the herald binary the process tests build; TestMain
// removes it.
var binDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "herald-bin-") })

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := binDir(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// buildHerald compiles cmd/herald once per test binary run.
var buildHerald = sync.OnceValues(func() (string, error) {
	dir, err := binDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "herald")
	out, err := exec.Command("go", "build", "-race", "-o", bin, "github.com/heraldpush/herald/cmd/herald").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

// process is a herald serve running as a child process.
type process struct {
	cmd     *exec.Cmd
	URL     string
	logs    *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error
}

var listeningRE = regexp.MustCompile(`msg="herald listening" addr=(\S+)`)

// startProcess runs the built herald serve on dataDir and waits until it
// listens.
func startProcess(t *testing.T, dataDir string) *process {
	t.Helper()
	bin, err := buildHerald()
	if err != nil {
		t.Fatal(err)
	}
	return startNode(t, bin, nil, "serve", "--data", dataDir, "--addr", "127.0.0.1:0", "--allow-endpoint", "127.0.0.1")
}

// TestCrashMidSendLosesNothing kills herald serve with SIGKILL in the
// middle of a 20,000-recipient send, starts it again on the same data,
// and checks that every recipient got the message; it reports how many got
// it twice (at most the sends in flight or not yet recorded at the kill).
func TestCrashMidSendLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 recipients and a child process")
	}
	const n = 20000
	data := t.TempDir()
	a := createApp(t, data, "crash")
	tp, subs := sampledPushService(t, n)
	p := startProcess(t, data)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	parallel(t, n, func(i int) error {
		r, err := request(c, "POST", p.URL+"/v1/subscribers", bearer(a.APIKey), map[string]any{"type": "webpush", "subscription": subs[i]})
		if err == nil && r.Status != http.StatusCreated {
			err = fmt.Errorf("register %d: %d %s", i, r.Status, r.Body)
		}
		return err
	})
	// Slow the push service so that the send is still going when it dies.
	tp.FailAll(testpush.Slow(15 * time.Millisecond))
	r := do(t, c, "POST", p.URL+"/v1/messages", bearer(a.APIKey), map[string]any{"to": "all", "content": map[string]any{"title": "survive"}})
	if r.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	id := r.json(t)["id"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := tp.WaitCount(ctx, n/3); err != nil {
		t.Fatalf("waiting for a third of the sends: %v (%d so far)", err, tp.Count())
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	atKill := tp.Count()
	tp.RecoverAll()

	p2 := startProcess(t, data)
	m := waitDone(t, &server{URL: p2.URL}, a.APIKey, id, 120*time.Second)
	missing, twice := 0, 0
	for _, s := range subs {
		switch d := tp.Deliveries(s.ID); {
		case d == 0:
			missing++
		case d > 1:
			twice += d - 1
		}
	}
	t.Logf("killed after %d of %d pushes; after restart: targeted %d, sent %d; recipients that got it twice: %d",
		atKill, n, m.Targeted, m.Sent, twice)
	if missing > 0 {
		t.Fatalf("%d recipients never got the message", missing)
	}
	if m.Targeted != n || m.Sent != n {
		t.Errorf("counters %+v, want %d targeted and sent", m, n)
	}
	// In flight at the kill: up to 4 batches × (64 sends + 100 outcomes
	// waiting to be written + 64 finishing during a write).
	if twice > 4*(64+100+64) {
		t.Errorf("%d duplicates: more than the sends in flight at the kill", twice)
	}
	if !strings.Contains(p2.logs.String(), "resuming jobs interrupted by a crash") {
		t.Errorf("the restarted server did not resume interrupted jobs:\n%s", p2.logs.String())
	}
}

// TestGracefulShutdown checks /healthz and /readyz on a running process,
// then that SIGTERM stops it cleanly (exit 0) and the data dir is free for
// the next start.
func TestGracefulShutdown(t *testing.T) {
	data := t.TempDir()
	createApp(t, data, "A")
	p := startProcess(t, data)
	for path, want := range map[string]string{"/healthz": `{"status":"ok"}`, "/readyz": `{"status":"ready"}`} {
		r := do(t, http.DefaultClient, "GET", p.URL+path, "", nil)
		if r.Status != 200 || strings.TrimSpace(string(r.Body)) != want {
			t.Errorf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	// A second server on the same data dir is refused while the first runs.
	bin, _ := buildHerald()
	out, err := exec.Command(bin, "serve", "--data", data, "--addr", "127.0.0.1:0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another herald serve") {
		t.Errorf("second server on the same data dir: %v\n%s", err, out)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("herald serve did not stop within 30s of SIGTERM")
	}
	if p.waitErr != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", p.waitErr, p.logs.String())
	}
	if !strings.Contains(p.logs.String(), "shutting down") {
		t.Errorf("no shutdown in the log:\n%s", p.logs.String())
	}
	startProcess(t, data) // the lock was released
}

// sampledPushService starts a testpush that decrypts one payload in ten,
// closed when the test ends, with n subscriptions.
func sampledPushService(t *testing.T, n int) (*testpush.Server, []testpush.Subscription) {
	t.Helper()
	tp, err := testpush.Start(testpush.Options{Verify: testpush.VerifySample, SampleEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.Close() })
	subs, err := tp.NewSubscriptions(n)
	if err != nil {
		t.Fatal(err)
	}
	return tp, subs
}
