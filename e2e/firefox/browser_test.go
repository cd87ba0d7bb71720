package firefox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// firefoxBinary is the browser the test drives: Debian's ESR build, which
// scripts/install-test-deps installs.
const firefoxBinary = "firefox-esr"

// profilePrefs is the user.js of a fresh profile: the prefs that make
// Firefox use testpush as its push service (shared/interop/firefox-push.md);
// alerts.useSystemBackend off, because the system backend (libnotify over
// D-Bus) is not there and showNotification() then fails with
// NS_ERROR_FAILURE, while Firefox's own alerts work headless; then
// everything that would call home or wait on the network turned off;
// network.manage-offline-status off, because in a namespace with only
// loopback Firefox could decide it was offline and its push client then
// refused to subscribe ("Error retrieving push subscription", 3 of 12
// quick local runs); and no spare content process started (a busy 2-core
// CI machine feels it).
// %q is testpush's WebSocket URL.
const profilePrefs = `user_pref("dom.push.serverURL", %q);
user_pref("dom.push.testing.allowInsecureServerURL", true);
user_pref("dom.push.testing.ignorePermission", true);
user_pref("permissions.default.desktop-notification", 1);
user_pref("dom.push.connection.enabled", true);
user_pref("dom.push.loglevel", "debug");
user_pref("alerts.useSystemBackend", false);
user_pref("devtools.console.stdout.content", true);
user_pref("devtools.console.stdout.chrome", true);
user_pref("app.update.enabled", false);
user_pref("app.update.auto", false);
user_pref("extensions.update.enabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.manage-offline-status", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.region.network.url", "");
user_pref("browser.region.update.enabled", false);
user_pref("media.gmp-manager.updateEnabled", false);
user_pref("browser.discovery.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("dom.ipc.processPrelaunch.enabled", false);
`

// maxOutput is how much of Firefox's output a failure message shows (the
// end of it, where the failure is).
const maxOutput = 16 << 10

// lookFirefox finds the browser or fails the test: a CI run without it
// must not pass by skipping.
func lookFirefox(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath(firefoxBinary)
	if err != nil {
		t.Fatalf("%s is not on PATH (%v): run scripts/install-test-deps", firefoxBinary, err)
	}
	return path
}

// newProfile makes a fresh profile directory whose push service is
// serverURL.
func newProfile(t *testing.T, serverURL string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "profile")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	prefs := fmt.Sprintf(profilePrefs, serverURL)
	if err := os.WriteFile(filepath.Join(dir, "user.js"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is a running Firefox. Its whole process group is killed when
// the test ends.
type browser struct {
	cmd    *exec.Cmd
	out    syncBuffer
	exited chan struct{} // closed when the process has been waited for
	err    error         // the exit status, set before exited is closed
}

// startFirefox runs headless Firefox on profile, opening url.
func startFirefox(t *testing.T, bin, profile, url string) *browser {
	t.Helper()
	b := &browser{exited: make(chan struct{})}
	b.cmd = exec.Command(bin, "--headless", "--no-remote", "--profile", profile, url)
	b.cmd.Env = append(os.Environ(),
		"HOME="+filepath.Dir(profile), // nothing of the user's own profile is read
		"MOZ_CRASHREPORTER_DISABLE=1",
	)
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.out
	b.cmd.SysProcAttr = sysProcAttr()
	// Firefox's child processes hold the output pipe; after the group is
	// killed, do not wait for them to close it for long.
	b.cmd.WaitDelay = 5 * time.Second
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(b.stop)
	return b
}

// stop kills Firefox and every process it started, and waits for it.
func (b *browser) stop() {
	select {
	case <-b.exited:
		return
	default:
	}
	// The negative pid is the process group (Setpgid in sysProcAttr).
	if err := syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		b.cmd.Process.Kill()
	}
	<-b.exited
}

// output is the end of what Firefox printed so far.
func (b *browser) output() string {
	s := b.out.String()
	if len(s) > maxOutput {
		s = "…" + s[len(s)-maxOutput:]
	}
	return strings.TrimSpace(s)
}

// syncBuffer collects output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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
