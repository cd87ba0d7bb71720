package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/testpush"
	"github.com/heraldpush/herald/internal/webpush"
)

// fixedKeys are the JSON keys tools outside the code read (design.md,
// "Fixed surface").
var fixedKeys = []string{"subscribers", "delivered", "seconds", "per_second", "p50_ms", "p99_ms", "peak_rss_mb"}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestWebPush runs the real engine against testpush with every payload
// decrypted, over both protocols, and checks every push is accounted for.
func TestWebPush(t *testing.T) {
	for _, tc := range []struct {
		name   string
		http   int
		verify testpush.VerifyMode
	}{
		{"h2 verify all", 2, testpush.VerifyAll},
		{"http1 verify sample", 1, testpush.VerifySample},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var progress bytes.Buffer
			const n = 200
			r, err := WebPush(testContext(t), WebPushOptions{Subscribers: n, HTTP: tc.http, Verify: tc.verify, SampleEvery: 10,
				CryptoDuration: 50 * time.Millisecond, Probes: 3, Progress: &progress})
			if err != nil {
				t.Fatalf("%v: %v", err, r.Problems)
			}
			if !r.OK || r.Delivered != n || r.Missing != 0 || r.Duplicates != 0 || r.PushesTotal != n {
				t.Fatalf("not every push accounted for: %+v", r)
			}
			// Probes sent during the send (if it lasted long enough) are
			// pushes testpush decrypts too.
			wantDecrypted := uint64(n + r.BusyProbes)
			if tc.verify == testpush.VerifySample {
				wantDecrypted = (wantDecrypted + 9) / 10
			}
			if r.BusyProbes > 0 && (r.BusyProbeP50ms <= 0 || r.BusyProbeMaxMs < r.BusyProbeP99ms) {
				t.Errorf("busy probes: %d, p50 %v, p99 %v, max %v", r.BusyProbes, r.BusyProbeP50ms, r.BusyProbeP99ms, r.BusyProbeMaxMs)
			}
			if r.Decrypted != wantDecrypted {
				t.Errorf("decrypted %d, want %d", r.Decrypted, wantDecrypted)
			}
			if m := r.Message; m.State != "done" || m.Targeted != n || m.Sent != n {
				t.Errorf("message counters %+v", m)
			}
			if r.Seconds <= 0 || r.PerSecond <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms || r.MaxMs < r.P99ms || r.PeakRSSMB <= 0 {
				t.Errorf("implausible figures: %+v", r)
			}
			if len(r.RSSByTenth) != 10 || len(r.GoHeapByTenth) != 10 {
				t.Errorf("RSS by tenth %v, Go heap by tenth %v: want 10 each", r.RSSByTenth, r.GoHeapByTenth)
			}
			if r.Probes != 3 || r.ProbeP50ms <= 0 || r.CryptoPerSecondAllCores <= 0 || r.FractionOfCrypto <= 0 {
				t.Errorf("probes or crypto missing: %+v", r)
			}
			if r.PayloadBytes < 180 || r.PayloadBytes > 220 {
				t.Errorf("payload is %d bytes, want about 200", r.PayloadBytes)
			}
			if !strings.Contains(progress.String(), "200/200") {
				t.Errorf("progress never showed completion:\n%s", progress.String())
			}
			checkKeys(t, r, fixedKeys)
			var table bytes.Buffer
			if err := r.WriteTable(&table); err != nil || !strings.Contains(table.String(), "every push accounted for") {
				t.Errorf("table (%v):\n%s", err, table.String())
			}
		})
	}
}

// checkKeys marshals v and checks it has every key, each a number.
func checkKeys(t *testing.T, v any, keys []string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, ok := m[k].(float64); !ok {
			t.Errorf("JSON key %q is %v (%T), want a number: %s", k, m[k], m[k], b)
		}
	}
}

// TestVerifyCatchesLosses: a missing push, a duplicate and short message
// counters each fail the run.
func TestVerifyCatchesLosses(t *testing.T) {
	tp, err := testpush.Start(testpush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	subs, err := tp.NewSubscriptions(3)
	if err != nil {
		t.Fatal(err)
	}
	key, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	signer := webpush.NewSigner(key, "mailto:bench@example.com", time.Now)
	// subs[0] once, subs[1] twice, subs[2] never.
	for _, s := range []testpush.Subscription{subs[0], subs[1], subs[1]} {
		ws, err := s.WebPush()
		if err != nil {
			t.Fatal(err)
		}
		res, err := webpush.Send(testContext(t), tp.Client(), ws, webpush.Message{Payload: []byte("x"), TTL: time.Minute}, signer)
		if err != nil || res.Outcome != webpush.Delivered {
			t.Fatalf("push: %v %v", res, err)
		}
	}
	ids := &idSet{}
	ids.add(subs)
	rn := &run{o: WebPushOptions{Subscribers: 3}, tp: tp, ids: ids}
	r := WebPushResult{Message: Counters{State: string(store.StateDone), Targeted: 3, Sent: 2, Failed: 1}}
	rn.verify(&r)
	if r.OK || r.Delivered != 2 || r.Missing != 1 || r.Duplicates != 1 {
		t.Fatalf("verify let losses through: %+v", r)
	}
	for _, want := range []string{"2 of 3 subscriptions", "1 duplicate", "sent 2", "failed 1"} {
		if !strings.Contains(strings.Join(r.Problems, "; "), want) {
			t.Errorf("problems %q do not mention %q", r.Problems, want)
		}
	}
}

func TestIDSet(t *testing.T) {
	var s idSet
	s.add([]testpush.Subscription{{ID: "7"}, {ID: "8"}, {ID: "9"}, {ID: "x"}, {ID: "12"}, {ID: "007"}})
	var got []string
	s.each(func(id string) { got = append(got, id) })
	if strings.Join(got, ",") != "7,8,9,12,x,007" || s.len() != 6 || len(s.ranges) != 2 {
		t.Fatalf("ids %v, ranges %v", got, s.ranges)
	}
}

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, false, "send", 1000)
	for i := 0; i <= 1000; i += 10 {
		p.update(i)
	}
	p.finish(1000)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 10 || !strings.Contains(lines[9], "[##############################] 1,000/1,000") {
		t.Fatalf("a log gets one line per tenth, got %d:\n%s", len(lines), b.String())
	}
	if thousands(1234567) != "1,234,567" || thousands(-1000) != "-1,000" || thousands(12) != "12" {
		t.Fatal("thousands")
	}
}

func TestCrypto(t *testing.T) {
	r, err := Crypto(testContext(t), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.PerSecondOneCore <= 0 || r.PerSecondAllCores <= 0 || r.PayloadBytes != 200 {
		t.Fatalf("%+v", r)
	}
	checkKeys(t, r, []string{"per_second_one_core", "per_second_all_cores"})
}
