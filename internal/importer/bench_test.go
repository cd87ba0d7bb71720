package importer_test

import (
	"bufio"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/importer"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

// BenchmarkImport imports a generated CSV into a fresh SQLite store, then
// imports it again (every row unchanged), and reports the first import's
// wall and CPU time and the re-run's wall time. The 1M-row runs are the
// figures for "a million rows in under a minute" (docs/performance.md):
//
//	go test -run xxx -bench 'BenchmarkImport$/mixed-1M' -benchtime 1x ./internal/importer/
//
// mixed rows are 40% Web Push, 40% FCM and 20% APNs, as a migrated app
// has them; webpush rows pay for a P-256 point check each.
func BenchmarkImport(b *testing.B) {
	for _, c := range []struct {
		name string
		rows int
		mix  csvMix
	}{
		{"fcm-100k", 100_000, fcmOnly},
		{"fcm-1M", 1_000_000, fcmOnly},
		{"mixed-1M", 1_000_000, mixed},
		{"webpush-100k", 100_000, webpushOnly},
	} {
		b.Run(c.name, func(b *testing.B) {
			file := filepath.Join(b.TempDir(), "subs.csv")
			writeBenchCSV(b, file, c.rows, c.mix)
			for b.Loop() {
				b.StopTimer()
				env := newEnv(b)
				b.StartTimer()
				start, cpu := time.Now(), cpuTime()
				first := importFile(b, env, file)
				if first.Created != int64(c.rows) {
					b.Fatalf("created %d of %d: %+v", first.Created, c.rows, first)
				}
				b.ReportMetric(time.Since(start).Seconds(), "import-s")
				b.ReportMetric((cpuTime() - cpu).Seconds(), "import-cpu-s")
				start = time.Now()
				again := importFile(b, env, file)
				if again.Unchanged != int64(c.rows) {
					b.Fatalf("re-run: %+v", again)
				}
				b.ReportMetric(time.Since(start).Seconds(), "rerun-s")
			}
			b.ReportMetric(float64(c.rows)*float64(b.N)/b.Elapsed().Seconds()*2, "rows/s")
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.Sys)/1e6, "sys-MB")
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used: under
// load from other processes it says what an import costs when wall time
// cannot.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discardStore stores nothing: BenchmarkImportPipeline measures what the
// importer itself costs (reading, parsing, validating, judging) apart
// from SQLite.
type discardStore struct {
	store.Subscribers // registry.Validate calls none of its methods
}

func (discardStore) ListSubscribers(context.Context, string, store.SubscriberFilter) ([]store.Subscriber, error) {
	return nil, nil
}

func (discardStore) UpsertSubscribers(_ context.Context, subs []store.Subscriber) (int, int, error) {
	return len(subs), 0, nil
}

// BenchmarkImportPipeline imports 1M rows into a store that keeps nothing.
func BenchmarkImportPipeline(b *testing.B) {
	for _, c := range []struct {
		name string
		rows int
		mix  csvMix
	}{{"fcm-1M", 1_000_000, fcmOnly}, {"webpush-200k", 200_000, webpushOnly}, {"mixed-1M", 1_000_000, mixed}} {
		b.Run(c.name, func(b *testing.B) {
			file := filepath.Join(b.TempDir(), "subs.csv")
			writeBenchCSV(b, file, c.rows, c.mix)
			policy, _ := egress.New(nil)
			im := importer.New(discardStore{}, registry.New(discardStore{}, policy, time.Now), time.Now)
			for b.Loop() {
				f, err := os.Open(file)
				if err != nil {
					b.Fatal(err)
				}
				cpu := cpuTime()
				s, err := im.Import(context.Background(), "app-a", f, importer.Options{})
				f.Close()
				if err != nil || s.Created != int64(c.rows) {
					b.Fatalf("%+v, %v", s, err)
				}
				b.ReportMetric((cpuTime() - cpu).Seconds(), "cpu-s")
			}
			b.ReportMetric(float64(c.rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func importFile(b *testing.B, env *testEnv, file string) importer.Stats {
	b.Helper()
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	s, err := env.im.Import(context.Background(), "app-a", f, importer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%+v in %s", s, time.Since(start).Round(time.Millisecond))
	return s
}

// mix64 is SplitMix64's finaliser: distinct, random-looking token prefixes.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// csvMix says which channels writeBenchCSV's rows use.
type csvMix int

const (
	fcmOnly     csvMix = iota
	webpushOnly        // Web Push subscriptions, a P-256 key each
	mixed              // 2 Web Push, 2 FCM, 1 APNs in every 5 rows
)

// writeBenchCSV writes n rows like a real migration's: random FCM tokens of
// 162 characters, random APNs tokens (64 hex digits), Web Push endpoints on
// FCM's push service, 0 to 3 tags, an alias on most rows, a language on
// all.
func writeBenchCSV(b *testing.B, file string, n int, mix csvMix) {
	b.Helper()
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "token,platform,tags,alias,language")
	langs := []string{"en", "fa", "de", "zh-Hans", "pt-BR"}
	tags := []string{"", "news", "news|sports", "news|sports|vip"}
	var keys []string // a few distinct keys, as many rows cost the same
	for range 16 {
		k, _ := ecdh.P256().GenerateKey(rand.Reader)
		a := make([]byte, 16)
		rand.Read(a)
		keys = append(keys, fmt.Sprintf(`"{""endpoint"":""https://fcm.googleapis.com/fcm/send/%%s"",""keys"":{""p256dh"":""%s"",""auth"":""%s""}}"`,
			base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(a)))
	}
	for i := range n {
		alias := ""
		if i%4 != 0 {
			alias = fmt.Sprintf("user-%d", i/2)
		}
		channel := "fcm"
		switch {
		case mix == webpushOnly, mix == mixed && i%5 < 2:
			channel = "webpush"
		case mix == mixed && i%5 == 4:
			channel = "apns"
		}
		// Real tokens are random, so rows land all over the token index.
		switch channel {
		case "webpush":
			fmt.Fprintf(w, keys[i%len(keys)]+",webpush,%s,%s,%s\n", fmt.Sprintf("%016x-%09d", mix64(uint64(i)), i), tags[i%len(tags)], alias, langs[i%len(langs)])
		case "apns":
			fmt.Fprintf(w, "%016x%016x%016x%016x,apns,%s,%s,%s\n", mix64(uint64(i)), mix64(uint64(i)+1<<40), mix64(uint64(i)+2<<40), mix64(uint64(i)+3<<40), tags[i%len(tags)], alias, langs[i%len(langs)])
		default:
			fmt.Fprintf(w, "%016x%07d:APA91bH%0132d,fcm,%s,%s,%s\n", mix64(uint64(i)), i, i, tags[i%len(tags)], alias, langs[i%len(langs)])
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
