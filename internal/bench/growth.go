package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// GrowthOptions configure [Growth].
type GrowthOptions struct {
	// Sizes are the audiences sent to, one run each, smallest first
	// (10,000, 100,000 and 1,000,000).
	Sizes []int
	// Run is the template of each run; its Subscribers is set per size.
	Run WebPushOptions
}

// GrowthResult is how a send's cost grows with the audience: time should
// grow linearly (constant time per push) and memory stay flat.
type GrowthResult struct {
	Kind      string          `json:"kind"` // "growth"
	Sizes     []int           `json:"sizes"`
	Points    []GrowthPoint   `json:"points"`
	Runs      []WebPushResult `json:"runs"`
	StartedAt time.Time       `json:"started_at"`
	// TimeSpread is the largest time per push over the smallest: 1 is
	// perfectly linear growth. RSSSpread is the same for peak RSS.
	TimeSpread float64 `json:"time_spread"`
	RSSSpread  float64 `json:"rss_spread"`
	OK         bool    `json:"ok"` // every run accounted for every push
}

// GrowthPoint is one size's figures.
type GrowthPoint struct {
	Subscribers int     `json:"subscribers"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	UsPerPush   float64 `json:"us_per_push"` // wall time per push
	PeakRSSMB   float64 `json:"peak_rss_mb"`
}

// Growth runs the Web Push send once per size and compares them.
func Growth(ctx context.Context, o GrowthOptions) (GrowthResult, error) {
	if len(o.Sizes) == 0 {
		o.Sizes = []int{10_000, 100_000, 1_000_000}
	}
	r := GrowthResult{Kind: "growth", Sizes: o.Sizes, StartedAt: time.Now().UTC(), OK: true}
	for _, n := range o.Sizes {
		run := o.Run
		run.Subscribers = n
		if run.Progress != nil {
			fmt.Fprintf(run.Progress, "growth: %s subscribers\n", thousands(int64(n)))
		}
		wr, err := WebPush(ctx, run)
		if err != nil && !errors.Is(err, ErrUnaccounted) {
			return r, err
		}
		r.OK = r.OK && wr.OK
		r.Runs = append(r.Runs, wr)
		p := GrowthPoint{Subscribers: n, Seconds: wr.Seconds, PerSecond: wr.PerSecond, PeakRSSMB: wr.PeakRSSMB}
		if n > 0 {
			p.UsPerPush = round1(wr.Seconds * 1e6 / float64(n))
		}
		r.Points = append(r.Points, p)
	}
	r.TimeSpread, r.RSSSpread = spread(r.Points, func(p GrowthPoint) float64 { return p.UsPerPush }),
		spread(r.Points, func(p GrowthPoint) float64 { return p.PeakRSSMB })
	return r, nil
}

func spread(ps []GrowthPoint, f func(GrowthPoint) float64) float64 {
	lo, hi := 0.0, 0.0
	for i, p := range ps {
		v := f(p)
		if i == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	if lo <= 0 {
		return 0
	}
	return round2(hi / lo)
}

// WriteTable writes r for people.
func (r GrowthResult) WriteTable(w io.Writer) error {
	fmt.Fprintln(w, "herald bench growth: one Web Push send per audience size")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "subscribers\tseconds\tpushes/s\tµs per push\tpeak RSS MB\t")
	for _, p := range r.Points {
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%.1f\t%.1f\t\n", thousands(int64(p.Subscribers)), p.Seconds, thousands(int64(p.PerSecond)), p.UsPerPush, p.PeakRSSMB)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	status := "every push accounted for"
	if !r.OK {
		status = "FAILED: a run lost or duplicated pushes (see runs)"
	}
	_, err := fmt.Fprintf(w, "time per push varies %.2f× across sizes (1 = linear growth); peak RSS %.2f×; %s\n", r.TimeSpread, r.RSSSpread, status)
	return err
}

// SVG plots time per push and peak RSS against the audience size: two
// flat lines say time grows linearly and memory does not grow.
func (r GrowthResult) SVG() []byte {
	var t, m []point
	for _, p := range r.Points {
		t = append(t, point{float64(p.Subscribers), p.UsPerPush, fmt.Sprintf("%.1f µs (%.1f s)", p.UsPerPush, p.Seconds)})
		m = append(m, point{float64(p.Subscribers), p.PeakRSSMB, fmt.Sprintf("%.0f MB", p.PeakRSSMB)})
	}
	return svgFigure("herald bench growth: one Web Push send per audience size",
		panel{title: "wall time per push (flat = linear growth)", xLabel: "subscribers", yLabel: "µs per push", points: t, logX: true},
		panel{title: "peak RSS (flat = memory does not grow)", xLabel: "subscribers", yLabel: "MB", points: m, logX: true})
}
