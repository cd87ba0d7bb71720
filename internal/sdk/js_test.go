package sdk_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestJavaScript runs the SDK's JavaScript unit tests (jstest/*.test.js)
// with Node's built-in test runner. Node 20 or later must be on PATH: the
// test fails, never skips, without it.
func TestJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (%v): the SDK's JavaScript tests need Node.js 20 or later (scripts/install-test-deps)", err)
	}
	out, err := exec.CommandContext(t.Context(), node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	if m := regexp.MustCompile(`^v(\d+)\.`).FindSubmatch(out); m == nil {
		t.Fatalf("node --version printed %q", out)
	} else if major, _ := strconv.Atoi(string(m[1])); major < 20 {
		t.Fatalf("node %s: the tests need Node.js 20 or later", out)
	}
	files, err := filepath.Glob(filepath.Join("jstest", "*.test.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no jstest/*.test.js files (%v)", err)
	}
	cmd := exec.CommandContext(t.Context(), node, append([]string{"--test", "--test-reporter=spec"}, files...)...)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test %v: %v\n%s", files, err, res)
	}
	if testing.Verbose() {
		t.Logf("%s", res)
	}
}
