package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// The audience benchmark's population: benchSubscribers subscribers of app
// "bench", each with 3–8 tags drawn without replacement from benchVocab
// tags whose popularity follows a Zipf–Mandelbrot law, tag k drawn with
// weight 1/(k+benchZipfQ)^benchZipfS, so that the commonest tag covers
// about 40% of the subscribers, the top ten 15–40% each, and the rarest
// about 0.1%. Channels, languages, aliases and activity vary too.
const (
	benchSubscribers = 1_000_000
	benchVocab       = 200
	benchZipfS       = 2.0
	benchZipfQ       = 10.0
	benchApp         = "bench"
	// benchPopulationVersion names the generator; bump it when the
	// population changes so that a kept file (HERALD_BENCH_DB) is rebuilt.
	benchPopulationVersion = 3 // 3: subscribers.tags filled (it was left '[]')
)

// benchNow is the population's "now", fixed so that a kept file stays
// valid.
var benchNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func benchTag(rank int) string { return fmt.Sprintf("tag-%03d", rank) }

// audienceBenchDB returns the path of the benchmark population, building
// it if needed (1M subscribers take about a minute). With HERALD_BENCH_DB
// set, the file is kept at that path and reused by later runs; otherwise
// it lives in b's temporary directory.
func audienceBenchDB(b *testing.B) string {
	b.Helper()
	path := os.Getenv("HERALD_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "herald.db")
	}
	ok, err := benchPopulationReady(path)
	if err != nil {
		b.Fatal(err)
	}
	if ok {
		return path
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
	start := time.Now()
	if err := buildPopulation(path); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d subscribers in %v at %s", benchSubscribers, time.Since(start).Round(time.Millisecond), path)
	return path
}

// benchPopulationReady reports whether path holds a complete population
// of this version.
func benchPopulationReady(path string) (bool, error) {
	if _, err := os.Stat(path); err != nil {
		return false, nil
	}
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		return false, err
	}
	defer s.Close()
	a, err := s.App(context.Background(), benchApp)
	if err != nil {
		return false, nil
	}
	return a.Name == fmt.Sprintf("bench v%d complete", benchPopulationVersion), nil
}

// benchTagsOf draws subscriber i's tags.
func benchTagsOf(r *rand.Rand, cdf []float64) []int {
	n := 3 + r.IntN(6)
	tags := make([]int, 0, n)
	for len(tags) < n {
		rank, _ := slices.BinarySearch(cdf, r.Float64())
		rank = min(rank, benchVocab-1) + 1
		if !slices.Contains(tags, rank) {
			tags = append(tags, rank)
		}
	}
	return tags
}

// buildPopulation writes the population with plain INSERTs in large
// transactions: the subscribers in id order, then their tags sorted by
// the tag table's key, so that every b-tree is written in order.
func buildPopulation(path string) error {
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.CreateApp(ctx, store.App{ID: benchApp, Name: "building", CreatedAt: benchNow}); err != nil {
		return err
	}
	weights := make([]float64, benchVocab)
	total := 0.0
	for k := range weights {
		weights[k] = 1 / math.Pow(float64(k+1)+benchZipfQ, benchZipfS)
		total += weights[k]
	}
	cdf := make([]float64, benchVocab)
	acc := 0.0
	for k, w := range weights {
		acc += w / total
		cdf[k] = acc
	}
	r := rand.New(rand.NewPCG(1, 2))
	channels := []store.Channel{store.ChannelWebPush, store.ChannelWebPush, store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs}
	langs := []string{"en", "en", "en", "fa", "de", "fr", "es", "ar", "tr", "ru"}
	zones := []string{"UTC", "Asia/Tehran", "Europe/Berlin", "America/New_York"}
	type tagRow struct {
		rank int
		id   int64
	}
	var tagRows []tagRow
	key, auth := make([]byte, 65), make([]byte, 16)
	const chunk = 50_000
	for start := 0; start < benchSubscribers; start += chunk {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO subscribers (app_id, registration_id, channel, token,
			p256dh, auth, alias, language, timezone, created_at, updated_at, last_active_at, last_clicked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			tx.Rollback()
			return err
		}
		for i := start; i < min(start+chunk, benchSubscribers); i++ {
			ch := channels[r.IntN(len(channels))]
			token := fmt.Sprintf("https://fcm.googleapis.com/fcm/send/bench-%09d:APA91b%032x", i, r.Uint64())
			var p, a any
			if ch == store.ChannelWebPush {
				p, a = key, auth
			} else {
				token = fmt.Sprintf("%064x", i)
			}
			alias := ""
			if r.IntN(3) == 0 {
				alias = fmt.Sprintf("user-%d", r.IntN(benchSubscribers/2))
			}
			created := benchNow.Add(-time.Duration(r.IntN(365*24)) * time.Hour)
			active := benchNow.Add(-time.Duration(r.ExpFloat64() * float64(20*24*time.Hour)))
			var clicked any
			if r.IntN(5) == 0 {
				clicked = sqlstore.ToMS(active)
			}
			var id int64
			if err := st.QueryRowContext(ctx, benchApp, fmt.Sprintf("r_%09d", i), string(ch), token, p, a, alias,
				langs[r.IntN(len(langs))], zones[r.IntN(len(zones))], sqlstore.ToMS(created), sqlstore.ToMS(created), sqlstore.ToMS(active), clicked).Scan(&id); err != nil {
				tx.Rollback()
				return err
			}
			for _, rank := range benchTagsOf(r, cdf) {
				tagRows = append(tagRows, tagRow{rank, id})
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	slices.SortFunc(tagRows, func(a, b tagRow) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.id, b.id))
	})
	for start := 0; start < len(tagRows); start += 4 * chunk {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO subscriber_tags (app_id, tag, subscriber_id) VALUES (?, ?, ?)`)
		if err != nil {
			tx.Rollback()
			return err
		}
		for _, tr := range tagRows[start:min(start+4*chunk, len(tagRows))] {
			if _, err := st.ExecContext(ctx, benchApp, benchTag(tr.rank), tr.id); err != nil {
				tx.Rollback()
				return err
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	// The copy of each tag set that audiences read (subscribers.tags,
	// migration 0004), as the store keeps it.
	if _, err := s.db.ExecContext(ctx, `UPDATE subscribers SET tags = (
		SELECT json_group_array(tag) FROM (SELECT t.tag FROM subscriber_tags t
			WHERE t.app_id = subscribers.app_id AND t.subscriber_id = subscribers.id ORDER BY t.tag))
		WHERE app_id = ?`, benchApp); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return err
	}
	return s.UpdateApp(ctx, store.App{ID: benchApp, Name: fmt.Sprintf("bench v%d complete", benchPopulationVersion)})
}

// benchTags returns the tags of the given popularity ranks (1 = commonest).
func benchTags(ranks ...int) []string {
	out := make([]string, len(ranks))
	for i, r := range ranks {
		out[i] = benchTag(r)
	}
	return out
}

// seq returns ranks from, from+step, … (n of them).
func seq(from, step, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i*step
	}
	return out
}

// benchAudiences are the expressions measured: EngageLab's shapes at their
// limits (tags OR up to 20, tags_and ≤ 20, tags_not ≤ 20, combined with
// AND) over common, middling and rare tags, and "all" (active in the last
// 30 days).
func benchAudiences() []struct {
	name string
	a    store.Audience
} {
	return []struct {
		name string
		a    store.Audience
	}{
		{"all_active_30d", store.Audience{ActiveSince: benchNow.Add(-30 * 24 * time.Hour)}},
		{"tag_common", store.Audience{Tags: benchTags(1)}},
		{"tag_rare", store.Audience{Tags: benchTags(200)}},
		{"or20_common", store.Audience{Tags: benchTags(seq(1, 1, 20)...)}},
		{"or20_spread", store.Audience{Tags: benchTags(seq(1, 10, 20)...)}},
		{"or20_rare", store.Audience{Tags: benchTags(seq(181, 1, 20)...)}},
		{"and2_common", store.Audience{TagsAnd: benchTags(1, 2)}},
		{"and_rare_common", store.Audience{TagsAnd: benchTags(1, 150)}},
		{"and20_spread", store.Audience{TagsAnd: benchTags(seq(1, 10, 20)...)}},
		{"not20_common_with_or", store.Audience{Tags: benchTags(seq(1, 1, 20)...), TagsNot: benchTags(seq(21, 1, 20)...)}},
		{"issue_or_and_not", store.Audience{Tags: benchTags(3, 4), TagsAnd: benchTags(1, 2), TagsNot: benchTags(5, 6)}},
		{"or20_and20_not20", store.Audience{
			Tags: benchTags(seq(1, 1, 20)...), TagsAnd: benchTags(1, 2, 3), TagsNot: benchTags(seq(41, 1, 20)...)}},
		{"not20_active", store.Audience{ActiveSince: benchNow.Add(-30 * 24 * time.Hour), TagsNot: benchTags(seq(1, 10, 20)...)}},
		{"or_language_channel", store.Audience{Tags: benchTags(seq(1, 1, 10)...), Languages: []string{"en"}, Channels: []store.Channel{store.ChannelWebPush}}},
		// Saved segments, as a message carries them (store.Audience.AnyOf,
		// NoneOf): one included segment (merged into the expression), two
		// (a nested OR evaluated in SQL), and an exclusion.
		{"segment_one", store.Audience{AnyOf: []store.Audience{{Tags: benchTags(1), ActiveSince: benchNow.Add(-30 * 24 * time.Hour)}}}},
		{"segments_two", store.Audience{AnyOf: []store.Audience{{Tags: benchTags(5)}, {TagsAnd: benchTags(1, 2)}}}},
		{"tag_minus_segment", store.Audience{Tags: benchTags(1), NoneOf: []store.Audience{{Tags: benchTags(2, 3)}}}},
		// herald bench audience's segments: "engaged" (five common tags,
		// clicked in the last week) and "lapsed" (English, active in the
		// last three days) included, three tags excluded.
		{"segments_include_exclude", store.Audience{ActiveSince: benchNow.Add(-30 * 24 * time.Hour),
			AnyOf: []store.Audience{{Tags: benchTags(1, 2, 3, 4, 5), ClickedSince: benchNow.Add(-7 * 24 * time.Hour)},
				{Languages: []string{"en"}, ActiveSince: benchNow.Add(-3 * 24 * time.Hour)}},
			NoneOf: []store.Audience{{Tags: benchTags(6, 7, 8)}}}},
	}
}

// cpuTime is the CPU time the process has used (user and system), a
// figure that other processes on a busy machine disturb less than the
// wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAudience streams whole audiences over 1M subscribers the way
// the delivery fanout reads them (AudiencePage, 500 at a time, in id
// order) and counts them (CountAudience). Run it with -benchtime 1x; the
// population is built on first use (see audienceBenchDB). Besides the
// wall clock it reports the process's CPU time (cpu-ms/…), steadier on a
// shared machine.
func BenchmarkAudience(b *testing.B) {
	path := audienceBenchDB(b)
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, c := range benchAudiences() {
		b.Run("stream/"+c.name, func(b *testing.B) {
			var n int
			cpu := cpuTime()
			for b.Loop() {
				n = 0
				after := int64(0)
				for {
					page, err := s.AudiencePage(ctx, benchApp, c.a, after, 500)
					if err != nil {
						b.Fatal(err)
					}
					n += len(page)
					if len(page) < 500 {
						break
					}
					after = page[len(page)-1].ID
				}
			}
			b.ReportMetric(float64(n), "recipients")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/stream")
			b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/stream")
		})
		b.Run("count/"+c.name, func(b *testing.B) {
			var n int64
			cpu := cpuTime()
			for b.Loop() {
				if n, err = s.CountAudience(ctx, benchApp, c.a); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "recipients")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/count")
			b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/count")
		})
	}
}
