package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/postgres"
	"github.com/heraldpush/herald/internal/store/sqlite"
)

// The audience population: each subscriber has 3–8 tags drawn without
// replacement from popVocab tags whose popularity follows a
// Zipf–Mandelbrot law (tag k has weight 1/(k+popZipfQ)^popZipfS), so the
// commonest tag covers about 40% of the subscribers, the top ten 15–40%
// each and the rarest about 0.1%. Channels, languages, time zones,
// aliases, activity and clicks vary too.
const (
	popVocab = 200
	popZipfS = 2.0
	popZipfQ = 10.0
	popBatch = 1000
)

// AudienceOptions configure [Audience].
type AudienceOptions struct {
	Subscribers int    // population size (required)
	Repeats     int    // runs of each expression; the median is kept (3)
	TempDir     string // where the store goes ("": os.TempDir)
	Store       string // "" for SQLite in TempDir, or a postgres:// URL of an empty database
	// DB, for SQLite, is a file to keep the store in instead of TempDir:
	// a later run of the same size reuses its population, as a PostgreSQL
	// database is reused when it already holds one of that size.
	DB string
	// Only, when not empty, names the expressions to measure (the others
	// are skipped).
	Only     []string
	Progress io.Writer // progress of the population build; nil shows none
	Terminal bool      // Progress is a terminal
	Now      func() time.Time
}

// AudienceResult is what [Audience] measured.
type AudienceResult struct {
	Kind         string           `json:"kind"` // "audience"
	Subscribers  int              `json:"subscribers"`
	SetupSeconds float64          `json:"setup_seconds"` // building the population, untimed
	Store        string           `json:"store"`         // "sqlite" or "postgres"
	Expressions  []AudienceFigure `json:"expressions"`
	// MaxStreamMs is the slowest expression's stream time: the target is
	// under a second at 1,000,000 subscribers.
	MaxStreamMs float64   `json:"max_stream_ms"`
	StartedAt   time.Time `json:"started_at"`
	CPUs        int       `json:"cpus"`
	GoVersion   string    `json:"go_version"`
	LoadAvg     string    `json:"load_avg"`
}

// AudienceFigure is one expression's figures, medians of the repeats.
type AudienceFigure struct {
	Name       string  `json:"name"`
	Recipients int64   `json:"recipients"`
	StreamMs   float64 `json:"stream_ms"`     // every member read in id order, 500 a page, as the fanout does
	StreamCPU  float64 `json:"stream_cpu_ms"` // the process's CPU time for it (steadier on a busy machine)
	CountMs    float64 `json:"count_ms"`      // CountAudience, as preview-audience does
	// ServerCPU is PostgreSQL's CPU time for the stream, when the server
	// runs on this machine (its backends' /proc figures).
	ServerCPU float64 `json:"stream_server_cpu_ms,omitempty"`
}

// Audience builds a population of o.Subscribers in a fresh SQLite store and
// times resolving tag OR / AND / NOT, language, channel, activity and
// segment expressions over it, within EngageLab's limits (20 tags a list).
func Audience(ctx context.Context, o AudienceOptions) (AudienceResult, error) {
	if o.Subscribers <= 0 {
		return AudienceResult{}, errors.New("bench: want at least 1 subscriber")
	}
	if o.Repeats <= 0 {
		o.Repeats = 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := AudienceResult{Kind: "audience", Subscribers: o.Subscribers, Store: "sqlite", StartedAt: time.Now().UTC(),
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadAvg: loadAvg()}
	dir, err := os.MkdirTemp(o.TempDir, "herald-bench-audience-")
	if err != nil {
		return r, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	var st store.Store
	var server func() time.Duration
	if o.Store == "" {
		path := o.DB
		if path == "" {
			path = filepath.Join(dir, "herald.db")
		}
		st, err = sqlite.Open(ctx, path, sqlite.Options{})
	} else {
		r.Store = "postgres"
		var pg *postgres.Store
		if pg, err = postgres.Open(ctx, o.Store, postgres.Options{}); err == nil {
			st, server = pg, serverCPU(ctx, pg.DB())
		}
	}
	if err != nil {
		return r, fmt.Errorf("bench: open store: %w", err)
	}
	defer st.Close()
	now := o.Now().UTC().Truncate(time.Millisecond)
	start := time.Now()
	if built, ok, err := keptPopulation(ctx, st, o.Subscribers); err != nil {
		return r, err
	} else if ok {
		now = built // the expressions' windows as of the population's build
	} else if err := buildPopulation(ctx, st, o.Subscribers, now, newProgress(o.Progress, o.Terminal, "population", o.Subscribers)); err != nil {
		return r, err
	}
	r.SetupSeconds = round2(time.Since(start).Seconds())
	for _, e := range audienceExpressions(now) {
		if len(o.Only) > 0 && !slices.Contains(o.Only, e.name) {
			continue
		}
		f, err := measureAudience(ctx, st, server, e.name, e.a, o.Repeats)
		if err != nil {
			return r, err
		}
		r.Expressions = append(r.Expressions, f)
		r.MaxStreamMs = max(r.MaxStreamMs, f.StreamMs)
	}
	return r, nil
}

const popApp = "bench-audience"

// popComplete names the population app once all n subscribers are in.
func popComplete(n int) string { return fmt.Sprintf("audience bench: %d subscribers", n) }

// keptPopulation reports whether st already holds a complete population
// of n subscribers (a kept SQLite file, a reused PostgreSQL database), and
// when it was built.
func keptPopulation(ctx context.Context, st store.Store, n int) (time.Time, bool, error) {
	a, err := st.App(ctx, popApp)
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("bench: population app: %w", err)
	}
	if a.Name != popComplete(n) {
		return time.Time{}, false, fmt.Errorf("bench: the store holds another population (%q): use an empty one", a.Name)
	}
	return a.CreatedAt.UTC(), true, nil
}

// buildPopulation writes n subscribers with the tag law above through the
// store's bulk upsert, popBatch at a time.
func buildPopulation(ctx context.Context, st store.Store, n int, now time.Time, p *progress) error {
	if err := st.CreateApp(ctx, store.App{ID: popApp, Name: "audience bench", CreatedAt: now}); err != nil {
		return fmt.Errorf("bench: population app: %w", err)
	}
	cdf := zipfCDF(popVocab, popZipfS, popZipfQ)
	rng := rand.New(rand.NewPCG(1, 2))
	channels := []store.Channel{store.ChannelWebPush, store.ChannelWebPush, store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs}
	langs := []string{"en", "en", "en", "fa", "de", "fr", "es", "ar", "tr", "ru"}
	zones := []string{"UTC", "Asia/Tehran", "Europe/Berlin", "America/New_York"}
	key, auth := make([]byte, 65), make([]byte, 16)
	key[0] = 4
	rows := make([]store.Subscriber, 0, popBatch)
	for done := 0; done < n; {
		rows = rows[:0]
		for i := done; i < min(done+popBatch, n); i++ {
			s := store.Subscriber{AppID: popApp, RegistrationID: fmt.Sprintf("r_%09d", i),
				Channel: channels[rng.IntN(len(channels))], Language: langs[rng.IntN(len(langs))],
				Timezone: zones[rng.IntN(len(zones))], Tags: popTags(rng, cdf)}
			if s.Channel == store.ChannelWebPush {
				s.Token = fmt.Sprintf("https://fcm.googleapis.com/fcm/send/bench-%09d", i)
				s.P256DH, s.Auth = key, auth
			} else {
				s.Token = fmt.Sprintf("%064x", i)
			}
			if rng.IntN(3) == 0 {
				s.Alias = fmt.Sprintf("user-%d", rng.IntN(max(1, n/2)))
			}
			s.CreatedAt = now.Add(-time.Duration(rng.IntN(365*24)) * time.Hour)
			s.UpdatedAt = s.CreatedAt
			s.LastActiveAt = now.Add(-time.Duration(rng.ExpFloat64() * float64(20*24*time.Hour))).Truncate(time.Millisecond)
			if rng.IntN(5) == 0 {
				s.LastClickedAt = s.LastActiveAt
			}
			rows = append(rows, s)
		}
		if _, _, err := st.UpsertSubscribers(ctx, rows); err != nil {
			return fmt.Errorf("bench: insert population: %w", err)
		}
		done += len(rows)
		p.update(done)
	}
	p.finish(n)
	if err := st.UpdateApp(ctx, store.App{ID: popApp, Name: popComplete(n), CreatedAt: now}); err != nil {
		return fmt.Errorf("bench: population app: %w", err)
	}
	return nil
}

// zipfCDF is the cumulative distribution of n ranks with weight
// 1/(k+q)^s for rank k = 1…n.
func zipfCDF(n int, s, q float64) []float64 {
	cdf := make([]float64, n)
	total := 0.0
	for k := range cdf {
		total += 1 / math.Pow(float64(k+1)+q, s)
		cdf[k] = total
	}
	for k := range cdf {
		cdf[k] /= total
	}
	return cdf
}

// popTags draws one subscriber's 3–8 distinct tags, sorted.
func popTags(rng *rand.Rand, cdf []float64) []string {
	n := 3 + rng.IntN(6)
	ranks := make([]int, 0, n)
	for len(ranks) < n {
		k, _ := slices.BinarySearch(cdf, rng.Float64())
		k = min(k, len(cdf)-1) + 1
		if !slices.Contains(ranks, k) {
			ranks = append(ranks, k)
		}
	}
	slices.Sort(ranks)
	tags := make([]string, n)
	for i, k := range ranks {
		tags[i] = popTag(k)
	}
	return tags
}

func popTag(rank int) string { return fmt.Sprintf("tag-%03d", rank) }

// popTagList returns the tags of n ranks from, from+step, …
func popTagList(from, step, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = popTag(from + i*step)
	}
	return out
}

type namedAudience struct {
	name string
	a    store.Audience
}

// audienceExpressions are EngageLab's shapes at their limits (tags OR ≤ 20,
// tags_and ≤ 20, tags_not ≤ 20, combined with AND) over common, middling
// and rare tags, "all" (active in the last 30 days), and saved segments
// (included and excluded) as a send copies them in.
func audienceExpressions(now time.Time) []namedAudience {
	day := 24 * time.Hour
	active30 := now.Add(-30 * day)
	engaged := store.SegmentRules{Tags: popTagList(1, 1, 5), ClickedWithin: 7 * day}.Audience(now)
	lapsed := store.SegmentRules{Languages: []string{"en"}, ActiveWithin: 3 * day}.Audience(now)
	return []namedAudience{
		{"all_active_30d", store.Audience{ActiveSince: active30}},
		{"tag_common", store.Audience{Tags: popTagList(1, 1, 1)}},
		{"tag_rare", store.Audience{Tags: popTagList(popVocab, 1, 1)}},
		{"or20_common", store.Audience{Tags: popTagList(1, 1, 20)}},
		{"or20_spread", store.Audience{Tags: popTagList(1, 10, 20)}},
		{"or20_rare", store.Audience{Tags: popTagList(181, 1, 20)}},
		{"and2_common", store.Audience{TagsAnd: popTagList(1, 1, 2)}},
		{"and_common_rare", store.Audience{TagsAnd: []string{popTag(1), popTag(150)}}},
		{"and20_spread", store.Audience{TagsAnd: popTagList(1, 10, 20)}},
		{"or20_not20", store.Audience{Tags: popTagList(1, 1, 20), TagsNot: popTagList(21, 1, 20)}},
		{"issue_or_and_not", store.Audience{Tags: popTagList(3, 1, 2), TagsAnd: popTagList(1, 1, 2), TagsNot: popTagList(5, 1, 2)}},
		{"or20_and3_not20", store.Audience{Tags: popTagList(1, 1, 20), TagsAnd: popTagList(1, 1, 3), TagsNot: popTagList(41, 1, 20)}},
		{"active_not20", store.Audience{ActiveSince: active30, TagsNot: popTagList(1, 10, 20)}},
		{"or10_language_channel", store.Audience{Tags: popTagList(1, 1, 10), Languages: []string{"en"}, Channels: []store.Channel{store.ChannelWebPush}}},
		{"segment_include", store.Audience{AnyOf: []store.Audience{engaged}}},
		{"segments_include_exclude", store.Audience{ActiveSince: active30, AnyOf: []store.Audience{engaged, lapsed}, NoneOf: []store.Audience{{Tags: popTagList(6, 1, 3)}}}},
	}
}

// measureAudience streams and counts a repeats times and keeps the medians.
// server, when not nil, reports the database server's CPU time.
func measureAudience(ctx context.Context, st store.Store, server func() time.Duration, name string, a store.Audience, repeats int) (AudienceFigure, error) {
	f := AudienceFigure{Name: name}
	var stream, streamCPU, serverCPU, count []float64
	for range repeats {
		var s0 time.Duration
		if server != nil {
			s0 = server()
		}
		t0, c0 := time.Now(), cpuTime()
		n := int64(0)
		after := int64(0)
		for {
			page, err := st.AudiencePage(ctx, popApp, a, after, 500)
			if err != nil {
				return f, fmt.Errorf("bench: audience %s: %w", name, err)
			}
			n += int64(len(page))
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].ID
		}
		stream = append(stream, ms(time.Since(t0)))
		streamCPU = append(streamCPU, ms(cpuTime()-c0))
		if server != nil {
			serverCPU = append(serverCPU, ms(server()-s0))
		}
		t1 := time.Now()
		c, err := st.CountAudience(ctx, popApp, a)
		if err != nil {
			return f, fmt.Errorf("bench: count %s: %w", name, err)
		}
		count = append(count, ms(time.Since(t1)))
		if c != n {
			return f, fmt.Errorf("bench: audience %s: streamed %d members but counted %d", name, n, c)
		}
		f.Recipients = n
	}
	f.StreamMs, f.StreamCPU, f.CountMs = median(stream), median(streamCPU), median(count)
	if len(serverCPU) > 0 {
		f.ServerCPU = median(serverCPU)
	}
	return f, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	return s[len(s)/2]
}

// WriteTable writes r for people.
func (r AudienceResult) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "herald bench audience: %s subscribers (built in %.1f s), %d CPUs, %s, load %s\n",
		thousands(int64(r.Subscribers)), r.SetupSeconds, r.CPUs, r.GoVersion, r.LoadAvg)
	fmt.Fprintln(tw, "expression\trecipients\tstream ms\tstream CPU ms\tserver CPU ms\tcount ms\t")
	for _, f := range r.Expressions {
		server := "-"
		if f.ServerCPU > 0 {
			server = fmt.Sprintf("%.1f", f.ServerCPU)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%s\t%.1f\t\n", f.Name, thousands(f.Recipients), f.StreamMs, f.StreamCPU, server, f.CountMs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "slowest stream: %.1f ms\n", r.MaxStreamMs)
	return err
}
