package importer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/importer"
	"github.com/heraldpush/herald/internal/store"
)

// want is what one imported subscriber should look like.
type want struct {
	channel  store.Channel
	tags     []string
	alias    string
	language string
	timezone string
}

func checkStored(t *testing.T, got map[string]store.Subscriber, wants map[string]want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Errorf("%d subscribers stored, want %d", len(got), len(wants))
	}
	for token, w := range wants {
		s, ok := got[token]
		if !ok {
			t.Errorf("token %.40s… not stored", token)
			continue
		}
		if s.Channel != w.channel || s.Alias != w.alias || s.Language != w.language || s.Timezone != w.timezone ||
			!slices.Equal(s.Tags, w.tags) && (len(s.Tags) > 0 || len(w.tags) > 0) {
			t.Errorf("token %.40s…: stored %s tags=%q alias=%q language=%q timezone=%q, want %+v",
				token, s.Channel, s.Tags, s.Alias, s.Language, s.Timezone, w)
		}
		if s.Channel == store.ChannelWebPush && (len(s.P256DH) != 65 || len(s.Auth) != 16) {
			t.Errorf("token %.40s…: keys not stored", token)
		}
	}
}

func checkBad(t *testing.T, got []badLine, want map[int]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("bad lines %v, want lines %v", got, want)
	}
	for _, b := range got {
		sub, ok := want[b.Line]
		if !ok {
			t.Errorf("line %d reported bad (%s), want it imported", b.Line, b.Reason)
			continue
		}
		if !strings.Contains(b.Reason, sub) {
			t.Errorf("line %d: reason %q, want it to mention %q", b.Line, b.Reason, sub)
		}
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFormats(t *testing.T) {
	p1, a1 := webKeys()
	sub1 := fmt.Sprintf(`{"endpoint":"http://127.0.0.1:9/push/1","expirationTime":null,"keys":{"p256dh":%q,"auth":%q}}`, p1, a1)
	csvSub1 := `"` + strings.ReplaceAll(sub1, `"`, `""`) + `"`
	apns := strings.Repeat("AB", 32)
	azureApple := strings.Repeat("ab", 32)
	oneSignalApple := strings.Repeat("0f", 32)

	for _, c := range []struct {
		name    string
		format  importer.Format
		text    string
		read    int64
		skipped int64
		stored  map[string]want
		bad     map[int]string
	}{{
		name:   "csv",
		format: importer.FormatCSV,
		text: "\ufefftoken,platform,tags,alias,language\n" +
			"fcm-1,fcm,news|sports,user-1,en\n" +
			csvSub1 + ",webpush,news,,fa\n" +
			apns + ",APNS,,user-2,\n" +
			"\"fcm-2\",fcm,\"a|b|a\",\"Ada, Lovelace\",de\n" +
			",fcm,,,\n" + // line 6: no token
			"fcm-3,sms,,,\n" + // line 7
			"{\"endpoint\":\"http://127.0.0.1:9/x\"},webpush,,,\n" + // line 8: bare quote
			"not-json,webpush,,,\n" + // line 9
			"fcm-4,fcm,x\n" + // line 10: short row
			"\"fcm-5\nsplit\",fcm,,,\n" + // lines 11-12: a token with a newline
			"fcm-6,fcm,,,xx-!!\n", // line 13
		read:   11,
		stored: map[string]want{"fcm-1": {store.ChannelFCM, []string{"news", "sports"}, "user-1", "en", ""}, "http://127.0.0.1:9/push/1": {store.ChannelWebPush, []string{"news"}, "", "fa", ""}, strings.ToLower(apns): {store.ChannelAPNs, nil, "user-2", "", ""}, "fcm-2": {store.ChannelFCM, []string{"a", "b"}, "Ada, Lovelace", "de", ""}},
		bad:    map[int]string{6: "token: is required", 7: "platform: must be webpush, fcm or apns", 8: "malformed CSV", 9: "PushSubscription JSON", 10: "has 3 fields", 11: "token: must not contain spaces", 13: "language"},
	}, {
		name:   "jsonl",
		format: importer.FormatJSONL,
		text: `{"type":"fcm","token":"fcm-1","tags":["x"],"alias":"u","language":"en","timezone":"Asia/Tehran"}` + "\n" +
			"\n" +
			`{"platform":"webpush","subscription":` + sub1 + `,"registration_id":"ignored"}` + "\n" +
			`{"type":"apns","token":"` + apns + `"}` + "\n" +
			`{"type":"fcm","token":"fcm-2","timezone":"Mars/Olympus"}` + "\n" + // line 5
			`{"type":"fcm","token":` + "\n" + // line 6
			`{"type":"fcm","token":"fcm-3","tags":"x"}` + "\n" + // line 7
			`{"type":"webpush","token":"http://127.0.0.1:9/y"}` + "\n" + // line 8
			`["fcm","x"]` + "\n" + // line 9
			`{"type":"webpush","subscription":"x"}` + "\n", // line 10
		read:   9,
		stored: map[string]want{"fcm-1": {store.ChannelFCM, []string{"x"}, "u", "en", "Asia/Tehran"}, "http://127.0.0.1:9/push/1": {store.ChannelWebPush, nil, "", "", ""}, strings.ToLower(apns): {store.ChannelAPNs, nil, "", "", ""}},
		bad:    map[int]string{5: "timezone", 6: "malformed JSON", 7: "tags: must be an array of strings, not a JSON string", 8: "PushSubscription JSON", 9: "not a JSON object", 10: "subscription: must be an object, not a JSON string"},
	}, {
		name:   "azure",
		format: importer.FormatAzure,
		text:   readFile(t, "testdata/azure.txt"),
		read:   9,
		stored: map[string]want{
			"gcm-token-0001:APA91bHun4MxP5egoKMwt2KZFBaFUH": {store.ChannelFCM, []string{"news", "sports"}, "user-42", "", ""},
			"fcmv1-token-0002": {store.ChannelFCM, []string{"vip"}, "", "", ""},
			azureApple:         {store.ChannelAPNs, []string{"news"}, "", "", ""},
			"https://fcm.googleapis.com/fcm/send/azure-browser-1": {store.ChannelWebPush, nil, "", "", ""},
			"gcm-token-0003": {store.ChannelFCM, []string{"sports"}, "", "", ""},
			"fcm-token-0004": {store.ChannelFCM, []string{"beta"}, "", "", ""},
		},
		bad: map[int]string{6: "Windows registrations have no Herald channel", 9: "malformed XML", 10: "APNs device token"},
	}, {
		name:    "onesignal",
		format:  importer.FormatOneSignal,
		text:    readFile(t, "testdata/onesignal.csv"),
		read:    9,
		skipped: 2,
		stored: map[string]want{
			oneSignalApple: {store.ChannelAPNs, []string{"plan:gold", "vip"}, "u-1", "en", ""},
			"fcm-os-1:APA91bF0aXbOneSignalTokenForAndroid": {store.ChannelFCM, []string{"level:5"}, "u-2", "fa", ""},
			"https://fcm.googleapis.com/fcm/send/os-web-1": {store.ChannelWebPush, nil, "", "de", ""},
			"fcm-os-2": {store.ChannelFCM, nil, "", "", ""},
		},
		bad: map[int]string{5: "web_p256 and web_auth", 8: "Amazon", 9: "tags: not a JSON object"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range []importer.Format{c.format, importer.FormatAuto} {
				e := newEnv(t)
				s, bad := e.run(t, "app-a", c.text, importer.Options{Format: f})
				if s.Format != c.format {
					t.Errorf("--format %s read as %s", f, s.Format)
				}
				if s.Read != c.read || s.Created != int64(len(c.stored)) || s.Skipped != c.skipped || s.Updated != 0 {
					t.Errorf("--format %s: %+v; want read %d, created %d, skipped %d", f, s, c.read, len(c.stored), c.skipped)
				}
				checkBad(t, bad, c.bad)
				checkStored(t, e.all(t, "app-a"), c.stored)
			}
		})
	}
}

func TestOneSignalKeepsDates(t *testing.T) {
	e := newEnv(t)
	e.run(t, "app-a", readFile(t, "testdata/onesignal.csv"), importer.Options{})
	s := e.all(t, "app-a")[strings.Repeat("0f", 32)]
	if got := s.CreatedAt.UTC().Format("2006-01-02 15:04:05"); got != "2021-03-04 05:06:07" {
		t.Errorf("created_at %s, want the export's 2021-03-04 05:06:07", got)
	}
	if got := s.LastActiveAt.UTC().Format("2006-01-02 15:04:05"); got != "2024-01-02 03:04:05" {
		t.Errorf("last_active %s, want the export's 2024-01-02 03:04:05", got)
	}
}

func TestDetectRefusesUnknown(t *testing.T) {
	e := newEnv(t)
	for _, text := range []string{"", "\n\n", "email,name\na@b.c,A\n", "just some text\n"} {
		_, err := e.im.Import(context.Background(), "app-a", strings.NewReader(text), importer.Options{})
		if err == nil {
			t.Errorf("%q: imported, want an error", text)
		}
	}
	if _, err := e.im.Import(context.Background(), "app-a", strings.NewReader("token,platform,color\n"), importer.Options{}); err == nil || !strings.Contains(err.Error(), `unknown column "color"`) {
		t.Errorf("unknown column: %v", err)
	}
	// A header alone is an empty import, not an error.
	s, _ := e.run(t, "app-a", "token,platform,tags,alias,language\n", importer.Options{})
	if s.Read != 0 {
		t.Errorf("header only: %+v", s)
	}
}

func TestWebPushEndpointMustBeAllowed(t *testing.T) {
	e := newEnv(t)
	p, a := webKeys()
	text := fmt.Sprintf(`{"type":"webpush","subscription":{"endpoint":"https://push.example.net/1","keys":{"p256dh":%q,"auth":%q}}}`+"\n"+
		`{"type":"webpush","subscription":{"endpoint":"https://updates.push.services.mozilla.com/wpush/v2/1","keys":{"p256dh":%q,"auth":%q}}}`+"\n", p, a, p, a)
	s, bad := e.run(t, "app-a", text, importer.Options{})
	if s.Created != 1 {
		t.Errorf("%+v: want the Mozilla endpoint created", s)
	}
	checkBad(t, bad, map[int]string{1: "not a known push service"})
}

// manyRows is n FCM rows; every seventh is bad (an empty token).
func manyRows(n int, suffix string) (text string, badLines map[int]string) {
	var b strings.Builder
	b.WriteString("token,platform,tags,alias,language\n")
	badLines = map[int]string{}
	for i := range n {
		if i%7 == 3 {
			b.WriteString(",fcm,,,\n")
			badLines[i+2] = "token: is required"
			continue
		}
		fmt.Fprintf(&b, "tok-%05d,fcm,t%d|all,user-%d,%s\n", i, i%5, i/3, suffix)
	}
	return b.String(), badLines
}

func TestManyRowsInOrderAcrossWorkers(t *testing.T) {
	e := newEnv(t)
	text, wantBad := manyRows(5000, "en")
	s, bad := e.run(t, "app-a", text, importer.Options{Workers: 4, Batch: 333})
	good := int64(5000 - len(wantBad))
	if s.Read != 5000 || s.Created != good || s.Bad != int64(len(wantBad)) {
		t.Errorf("%+v, want %d created, %d bad", s, good, len(wantBad))
	}
	checkBad(t, bad, wantBad)
	if !slices.IsSortedFunc(bad, func(a, b badLine) int { return a.Line - b.Line }) {
		t.Error("bad lines not reported in file order")
	}
	if n := len(e.all(t, "app-a")); int64(n) != good {
		t.Errorf("%d stored, want %d", n, good)
	}
}

func TestRerunChangesNothing(t *testing.T) {
	e := newEnv(t)
	text, wantBad := manyRows(1200, "en")
	first, _ := e.run(t, "app-a", text, importer.Options{})
	before := e.all(t, "app-a")
	again, bad := e.run(t, "app-a", text, importer.Options{})
	if again.Created != 0 || again.Updated != 0 || again.Unchanged != first.Created || again.Bad != first.Bad {
		t.Errorf("re-run: %+v after %+v", again, first)
	}
	checkBad(t, bad, wantBad)
	after := e.all(t, "app-a")
	if len(after) != len(before) {
		t.Fatalf("%d subscribers after the re-run, %d before", len(after), len(before))
	}
	for tok, b := range before {
		a := after[tok]
		if a.ID != b.ID || a.RegistrationID != b.RegistrationID || !a.UpdatedAt.Equal(b.UpdatedAt) || !slices.Equal(a.Tags, b.Tags) {
			t.Fatalf("%s changed by a re-run: %+v → %+v", tok, b, a)
		}
	}

	// Changed values update in place; empty cells keep what is stored.
	changed, _ := manyRows(1200, "fa")
	upd, _ := e.run(t, "app-a", changed, importer.Options{})
	if upd.Updated != first.Created || upd.Created != 0 {
		t.Errorf("changed languages: %+v", upd)
	}
	keep, _ := e.run(t, "app-a", "token,platform,tags,alias,language\ntok-00000,fcm,,,\n", importer.Options{})
	if keep.Unchanged != 1 {
		t.Errorf("a row of empty cells: %+v, want unchanged", keep)
	}
	s := e.all(t, "app-a")["tok-00000"]
	if s.Language != "fa" || s.Alias != "user-0" || !slices.Equal(s.Tags, []string{"all", "t0"}) || s.ID != before["tok-00000"].ID {
		t.Errorf("after updates: %+v", s)
	}
}

func TestSameTokenTwiceInAFile(t *testing.T) {
	e := newEnv(t)
	s, _ := e.run(t, "app-a", "token,platform,tags,alias,language\nt1,fcm,a,,en\nt1,fcm,a,,en\nt1,fcm,b,,\n", importer.Options{})
	if s.Created != 1 || s.Unchanged != 1 || s.Updated != 1 {
		t.Errorf("%+v: want created 1, unchanged 1, updated 1", s)
	}
	got := e.all(t, "app-a")["t1"]
	if !slices.Equal(got.Tags, []string{"b"}) || got.Language != "en" {
		t.Errorf("stored %+v, want the last row's tags and the kept language", got)
	}
}

func TestRoundTrip(t *testing.T) {
	e := newEnv(t)
	var b strings.Builder
	for i := range 2500 { // more than two export pages
		switch i % 3 {
		case 0:
			p, a := webKeys()
			fmt.Fprintf(&b, `{"type":"webpush","subscription":{"endpoint":"http://127.0.0.1:9/push/%d","keys":{"p256dh":%q,"auth":%q}},"tags":["w","x%d"],"language":"fa","timezone":"Asia/Tehran"}`+"\n", i, p, a, i%4)
		case 1:
			fmt.Fprintf(&b, `{"type":"fcm","token":"fcm-%d","alias":"a %d","tags":[]}`+"\n", i, i)
		default:
			fmt.Fprintf(&b, `{"type":"apns","token":"%064x","tags":["ios"],"language":"en-GB"}`+"\n", i)
		}
	}
	first, _ := e.run(t, "app-a", b.String(), importer.Options{})
	if first.Created != 2500 {
		t.Fatalf("%+v", first)
	}
	for _, f := range []importer.Format{importer.FormatCSV, importer.FormatJSONL} {
		out := e.export(t, "app-a", f)
		s, bad := e.run(t, "app-a", out, importer.Options{})
		if s.Format != f || s.Unchanged != 2500 || s.Created+s.Updated+s.Bad != 0 {
			t.Errorf("import(export %s) into the same app: %+v %v", f, s, bad)
		}
		// Into another app, the export recreates the same subscribers.
		e2 := newEnv(t)
		s, _ = e2.run(t, "app-b", out, importer.Options{})
		if s.Created != 2500 {
			t.Errorf("export %s into a new app: %+v", f, s)
		}
		if again := e2.export(t, "app-b", f); again != out {
			t.Errorf("export %s of the copy differs from the original's", f)
		}
	}
	if !strings.HasPrefix(e.export(t, "app-a", importer.FormatCSV), "token,platform,tags,alias,language\n") {
		t.Error("the CSV export does not start with the fixed header")
	}
}

func TestAppIsolation(t *testing.T) {
	e := newEnv(t)
	text, _ := manyRows(300, "en")
	e.run(t, "app-a", text, importer.Options{})
	before := e.all(t, "app-a")
	other, _ := manyRows(300, "de")
	s, _ := e.run(t, "app-b", other, importer.Options{})
	if s.Created != int64(len(before)) || s.Updated != 0 {
		t.Errorf("app-b: %+v, want every row created", s)
	}
	after := e.all(t, "app-a")
	for tok, b := range before {
		if a := after[tok]; a.Language != "en" || !a.UpdatedAt.Equal(b.UpdatedAt) {
			t.Fatalf("app-a's %s changed by an import into app-b: %+v", tok, a)
		}
	}
	if len(after) != len(before) {
		t.Errorf("app-a has %d subscribers, had %d", len(after), len(before))
	}
}

// failingReader fails after n bytes.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestReadErrorStopsAfterCommittedBatches(t *testing.T) {
	e := newEnv(t)
	text, _ := manyRows(10000, "en")
	half := len(text) / 2 // well past the first line, which format detection reads
	_, err := e.im.Import(context.Background(), "app-a", &failingReader{strings.NewReader(text), half}, importer.Options{Batch: 100})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v, want the read error", err)
	}
	stored := len(e.all(t, "app-a"))
	if stored == 0 {
		t.Error("nothing committed before the error")
	}
	// Running it again finishes the job.
	s, _ := e.run(t, "app-a", text, importer.Options{})
	if s.Unchanged != int64(stored) || s.Created+s.Unchanged+s.Bad != 10000 {
		t.Errorf("resume: %+v with %d stored before", s, stored)
	}
}

func TestExportRefusesUnknownFormat(t *testing.T) {
	e := newEnv(t)
	if _, err := importer.Export(context.Background(), e.st, "app-a", io.Discard, importer.FormatAzure); err == nil {
		t.Error("export as azure: no error")
	}
	if _, err := importer.ParseImportFormat("xml"); err == nil {
		t.Error(`ParseImportFormat("xml"): no error`)
	}
	if f, err := importer.ParseExportFormat("JSONL"); err != nil || f != importer.FormatJSONL {
		t.Errorf(`ParseExportFormat("JSONL") = %q, %v`, f, err)
	}
}
