package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
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
		{"audience", []string{"--subscribers", "3000", "--repeats", "1"}, []string{"subscribers", "max_stream_ms", "setup_seconds"}},
		{"fcm", []string{"--subscribers", "60"}, []string{"subscribers", "delivered", "seconds", "per_second"}},
		{"apns", []string{"--subscribers", "60"}, []string{"subscribers", "delivered", "seconds", "per_second"}},
		{"growth", []string{"--sizes", "40,80", "--crypto-seconds", "0", "--verify", "all"}, []string{"time_spread", "rss_spread"}},
		{"api", []string{"--seconds", "0.3", "--clients", "2", "--apps", "2"}, []string{"apps", "messages_sent", "messages_done", "fanout_done_seconds"}},
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
			if (tc.kind == "fcm" || tc.kind == "apns") && (m["delivered"] != 60.0 || m["sent"] != 60.0 || m["ok"] != true) {
				t.Errorf("%s: delivered %v, sent %v, ok %v", tc.kind, m["delivered"], m["sent"], m["ok"])
			}
			if tc.kind == "webpush" && (m["delivered"] != 50.0 || m["ok"] != true) {
				t.Errorf("delivered %v, ok %v", m["delivered"], m["ok"])
			}
			if tc.kind == "audience" {
				checkAudience(t, m)
			}
			if tc.kind == "api" {
				checkAPI(t, m)
			}
			if tc.kind == "growth" {
				checkGrowth(t, m, dir)
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
		{"bench", "audience"},
		{"bench", "fcm"},
		{"bench", "apns", "--subscribers", "-1"},
		{"bench", "growth", "--sizes", "10,x"},
		{"bench", "growth", "--sizes", "10", "--verify", "some"},
		{"bench", "api", "--clients", "0"},
		{"bench", "api", "--only", "nope", "--seconds", "0.01"},
		{"bench", "audience", "--subscribers", "10", "--repeats", "0"},
	} {
		if _, stderr, code := herald(t, args...); code != 2 || stderr == "" {
			t.Errorf("herald %v: exit %d, stderr %q; want 2 and a message", args, code, stderr)
		}
	}
}

// checkAudience: every expression reached some but not all of the
// population, and the narrower expressions reached fewer than the wider.
func checkAudience(t *testing.T, m map[string]any) {
	t.Helper()
	got := map[string]float64{}
	for _, e := range m["expressions"].([]any) {
		e := e.(map[string]any)
		got[e["name"].(string)] = e["recipients"].(float64)
	}
	if len(got) < 10 {
		t.Fatalf("only %d expressions: %v", len(got), got)
	}
	for name, n := range got {
		if name == "and20_spread" { // a subscriber has at most 8 tags: nobody, the worst case of the scan
			if n != 0 {
				t.Errorf("and20_spread reached %v", n)
			}
			continue
		}
		if n <= 0 || n >= 3000 {
			t.Errorf("%s reached %v of 3000", name, n)
		}
	}
	for _, pair := range [][2]string{{"tag_rare", "tag_common"}, {"tag_common", "or20_common"}, {"and2_common", "tag_common"},
		{"or20_not20", "or20_common"}, {"segment_include", "or20_common"}} {
		if got[pair[0]] >= got[pair[1]] {
			t.Errorf("%s (%v) not below %s (%v)", pair[0], got[pair[0]], pair[1], got[pair[1]])
		}
	}
}

// checkAPI: every workload had requests accepted and none failed, and
// every accepted send reached testpush.
func checkAPI(t *testing.T, m map[string]any) {
	t.Helper()
	names := map[string]bool{}
	for _, w := range m["workloads"].([]any) {
		w := w.(map[string]any)
		names[w["name"].(string)] = true
		if w["accepted"].(float64) < 1 || w["errors"].(float64) != 0 || w["p99_ms"].(float64) <= 0 {
			t.Errorf("workload %v", w)
		}
	}
	if len(names) != 4 {
		t.Errorf("workloads %v", names)
	}
	if m["messages_sent"].(float64) < 2 || m["messages_done"] != m["messages_sent"] {
		t.Errorf("sent %v, done %v", m["messages_sent"], m["messages_done"])
	}
}

// checkGrowth: one point per size, every push accounted for, and an SVG
// plot beside the JSON that parses as XML and names both sizes.
func checkGrowth(t *testing.T, m map[string]any, dir string) {
	t.Helper()
	points := m["points"].([]any)
	if len(points) != 2 || m["ok"] != true {
		t.Fatalf("points %v, ok %v", points, m["ok"])
	}
	for i, want := range []float64{40, 80} {
		p := points[i].(map[string]any)
		if p["subscribers"] != want || p["us_per_push"].(float64) <= 0 || p["peak_rss_mb"].(float64) <= 0 {
			t.Errorf("point %d: %v", i, p)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "growth-*.svg"))
	if len(files) != 1 {
		t.Fatalf("plots: %v", files)
	}
	b, _ := os.ReadFile(files[0])
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("plot is not XML: %v", err)
		}
	}
	if !bytes.Contains(b, []byte(">40<")) || !bytes.Contains(b, []byte(">80<")) {
		t.Errorf("plot lacks the sizes: %.300s", b)
	}
}
