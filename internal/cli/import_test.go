package cli_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/cli"
)

// runHerald runs one CLI command and returns its exit code and output.
func runHerald(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, cli.Env{Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

// importSummary is herald import --json's output.
type importSummary struct {
	Format    string           `json:"format"`
	Read      int64            `json:"read"`
	Created   int64            `json:"created"`
	Updated   int64            `json:"updated"`
	Unchanged int64            `json:"unchanged"`
	Skipped   int64            `json:"skipped"`
	Bad       int64            `json:"bad"`
	SkippedBy map[string]int64 `json:"skipped_by"`
}

func importJSON(t *testing.T, env map[string]string, args ...string) (importSummary, string) {
	t.Helper()
	code, out, errOut := runHerald(env, append([]string{"import", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("herald import %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	var s importSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("import --json printed %q: %v", out, err)
	}
	return s, errOut
}

// writeMigrationCSV writes n rows of Herald's CSV, a third each Web Push
// (endpoints on 127.0.0.1), FCM and APNs, and returns the path.
func writeMigrationCSV(t *testing.T, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "subscribers.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"token", "platform", "tags", "alias", "language"})
	for i := range n {
		tags := fmt.Sprintf("all|group-%d", i%10)
		switch i % 3 {
		case 0:
			sub, _ := json.Marshal(browserSubscription(endpointFor(i)))
			w.Write([]string{string(sub), "webpush", tags, "", "fa"})
		case 1:
			w.Write([]string{fmt.Sprintf("fcm-%06d:APA91b", i), "fcm", tags, fmt.Sprintf("user-%d", i), "en"})
		default:
			w.Write([]string{fmt.Sprintf("%064x", i), "apns", tags, fmt.Sprintf("user-%d", i), ""})
		}
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportTenThousandEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	a := createApp(t, data, "A")
	b := createApp(t, data, "B")
	file := writeMigrationCSV(t, dir, 10_000)
	allow := "--allow-endpoint=127.0.0.1"

	s, _ := importJSON(t, nil, "--app", a.ID, "--data", data, allow, file)
	if s.Format != "csv" || s.Read != 10_000 || s.Created != 10_000 || s.Bad != 0 {
		t.Fatalf("first import: %+v", s)
	}
	exportA := herald(t, nil, "export", "--app", a.ID, "--data", data)
	if lines := strings.Count(exportA, "\n"); lines != 10_001 {
		t.Errorf("export has %d lines, want a header and 10000 rows", lines)
	}

	// Again: nothing changes.
	s, _ = importJSON(t, nil, "--app", a.ID, "--data", data, allow, file)
	if s.Unchanged != 10_000 || s.Created+s.Updated != 0 {
		t.Errorf("re-run: %+v", s)
	}

	// The export imports back as a no-op, in both formats, through a file.
	for _, f := range []string{"csv", "jsonl"} {
		out := filepath.Join(dir, "export."+f)
		herald(t, nil, "export", "--app", a.ID, "--data", data, "--format", f, out)
		s, _ = importJSON(t, nil, "--app", a.ID, "--data", data, allow, out)
		if s.Format != f || s.Unchanged != 10_000 || s.Created+s.Updated+s.Bad != 0 {
			t.Errorf("import(export --format %s): %+v", f, s)
		}
	}

	// Into app B: everything is new there, and app A does not move.
	s, _ = importJSON(t, map[string]string{"HERALD_ALLOW_ENDPOINTS": "127.0.0.1"}, "--app", b.ID, "--data", data, file)
	if s.Created != 10_000 {
		t.Errorf("into app B: %+v", s)
	}
	if again := herald(t, nil, "export", "--app", a.ID, "--data", data); again != exportA {
		t.Error("app A's export changed after an import into app B")
	}
	if exportB := herald(t, nil, "export", "--app", b.ID, "--data", data); exportB != exportA {
		t.Error("app B's export differs from app A's after importing the same file")
	}
}

func TestImportReportsBadLinesAndGoesOn(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	a := createApp(t, data, "A")
	file := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(file, []byte("token,platform,tags,alias,language\n"+
		"ok-1,fcm,x,,en\n"+
		",fcm,,,\n"+
		"ok-2,fcm,,,\n"+
		"short,apns,,,\n"), 0o600)
	code, out, errOut := runHerald(nil, "import", "--app", a.ID, "--data", data, file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"line 3: token: is required", "line 5: token: an APNs device token"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q does not report %q", errOut, want)
		}
	}
	if want := "read 4 rows (csv): 2 created, 0 updated, 0 unchanged, 0 skipped, 2 bad"; !strings.Contains(out, want) {
		t.Errorf("summary %q, want %q", out, want)
	}

	// A Web Push endpoint off the allow-list is a bad line without the flag.
	sub, _ := json.Marshal(browserSubscription("http://127.0.0.1:1/wpush/x"))
	line := `{"type":"webpush","subscription":` + string(sub) + "}\n"
	os.WriteFile(file, []byte(line), 0o600)
	s, errOut := importJSON(t, nil, "--app", a.ID, "--data", data, file)
	if s.Bad != 1 || !strings.Contains(errOut, "line 1: subscription.endpoint") {
		t.Errorf("without --allow-endpoint: %+v, stderr %q", s, errOut)
	}
	s, _ = importJSON(t, nil, "--app", a.ID, "--data", data, "--allow-endpoint", "127.0.0.1", file)
	if s.Created != 1 {
		t.Errorf("with --allow-endpoint: %+v", s)
	}
}

func TestImportFromStdin(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	a := createApp(t, data, "A")
	in := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(in, []byte(`{"type":"fcm","token":"from-stdin-1","tags":["a"]}`+"\n"+`{"platform":"fcm","token":"from-stdin-2"}`+"\n"), 0o600)
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stdin := os.Stdin
	os.Stdin = f // herald import - reads the process's standard input
	defer func() { os.Stdin = stdin }()
	s, _ := importJSON(t, nil, "--app", a.ID, "--data", data, "-")
	if s.Format != "jsonl" || s.Created != 2 {
		t.Errorf("from stdin: %+v", s)
	}
	if out := herald(t, nil, "export", "--app", a.ID, "--data", data, "--format", "jsonl"); !strings.Contains(out, `"token":"from-stdin-2"`) {
		t.Errorf("export: %s", out)
	}
}

func TestImportUsage(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	a := createApp(t, data, "A")
	file := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(file, []byte("token,platform\nx,fcm\n"), 0o600)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"import", "--data", data, file}, 2, "--app is required"},
		{[]string{"import", "--app", a.ID, "--data", data}, 2, "want one FILE"},
		{[]string{"import", "--app", a.ID, "--data", data, "--format", "xml", file}, 2, `format "xml"`},
		{[]string{"import", "--app", "app_nope", "--data", data, file}, 1, "does not exist"},
		{[]string{"import", "--app", a.ID, "--data", data, filepath.Join(data, "missing.csv")}, 1, "no such file"},
		{[]string{"export", "--app", a.ID, "--data", data, "--format", "azure"}, 2, `format "azure"`},
		{[]string{"export", "--app", "app_nope", "--data", data}, 1, "does not exist"},
	} {
		code, _, errOut := runHerald(nil, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("herald %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(c.args, " "), code, errOut, c.code, c.msg)
		}
	}
}
