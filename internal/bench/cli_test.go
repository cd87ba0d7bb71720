package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/cli"
)

func herald(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, cli.Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), code
}

// TestCLIJSON: `herald bench … --json` prints one JSON object with the
// fixed-surface keys on stdout and keeps it in --results.
func TestCLIJSON(t *testing.T) {
	for _, tc := range []struct {
		kind string
		args []string
		keys []string
	}{
		{"webpush", []string{"--subscribers", "50", "--verify", "all", "--crypto-seconds", "0.05", "--probes", "2"},
			[]string{"subscribers", "delivered", "seconds", "per_second", "p50_ms", "p99_ms", "peak_rss_mb"}},
		{"crypto", []string{"--seconds", "0.05"}, []string{"per_second_one_core", "per_second_all_cores"}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"bench", tc.kind, "--json", "--results", dir}, tc.args...)
			stdout, stderr, code := herald(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			dec := json.NewDecoder(strings.NewReader(stdout))
			var m map[string]any
			if err := dec.Decode(&m); err != nil || dec.More() {
				t.Fatalf("stdout is not one JSON object (%v): %q", err, stdout)
			}
			for _, k := range tc.keys {
				if _, ok := m[k].(float64); !ok {
					t.Errorf("key %q is %v", k, m[k])
				}
			}
			if tc.kind == "webpush" && (m["delivered"] != 50.0 || m["ok"] != true) {
				t.Errorf("delivered %v, ok %v", m["delivered"], m["ok"])
			}
			files, _ := filepath.Glob(filepath.Join(dir, tc.kind+"-*.json"))
			if len(files) != 1 {
				t.Fatalf("results dir holds %v", files)
			}
			b, err := os.ReadFile(files[0])
			var saved map[string]any
			if err != nil || json.Unmarshal(b, &saved) != nil || saved[tc.keys[0]] != m[tc.keys[0]] {
				t.Errorf("saved result %s (%v) differs from stdout", b, err)
			}
		})
	}
}

func TestCLIUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "nope"},
		{"bench", "webpush"},
		{"bench", "webpush", "--subscribers", "10", "--verify", "some"},
		{"bench", "webpush", "--subscribers", "10", "--http", "3"},
		{"bench", "crypto", "--seconds", "0"},
	} {
		if _, stderr, code := herald(t, args...); code != 2 || stderr == "" {
			t.Errorf("herald %v: exit %d, stderr %q; want 2 and a message", args, code, stderr)
		}
	}
}
