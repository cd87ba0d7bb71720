package sdk

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestHeraldJSIsItsParts: the served herald.js is herald/*.js in name
// order, the helpers before the SDK that uses them, and node parses the
// whole as one script.
func TestHeraldJSIsItsParts(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("herald", "*.js"))
	if err != nil || len(names) < 2 {
		t.Fatalf("parts %v (%v)", names, err)
	}
	var want []byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b...)
	}
	got := heraldJS()
	if !bytes.Equal(got, want) {
		t.Fatalf("herald.js (%d bytes) is not the parts %v concatenated (%d bytes)", len(got), names, len(want))
	}
	if h, s := bytes.Index(got, []byte("root.__heraldParts = {")), bytes.Index(got, []byte("= root.__heraldParts;")); h < 0 || s < h {
		t.Fatalf("the helpers' hand-over (at %d) must come before the SDK takes it (at %d)", h, s)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (%v): scripts/install-test-deps installs it", err)
	}
	file := filepath.Join(t.TempDir(), "herald.js")
	if err := os.WriteFile(file, got, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(t.Context(), node, "--check", file).CombinedOutput(); err != nil {
		t.Fatalf("node --check herald.js: %v\n%s", err, out)
	}
}
