package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

func TestChart(t *testing.T) {
	if v := buildChart(nil); !v.Empty {
		t.Errorf("no points: not empty")
	}
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	v := buildChart([]store.TimelinePoint{{At: t0, Sent: 10, Failed: 2}, {At: t0.Add(2 * time.Second), Sent: 5, Expired: 1}})
	if v.Empty || v.BucketSeconds != 1 || len(v.Bars) != 2 || len(v.Rows) != 2 || len(v.Bars[0]) != 2 || v.Bars[0][0].Class != "sent" {
		t.Fatalf("two points: %+v", v)
	}
	// Heights are to scale: 12 stacked in the first bar, the axis at 20.
	h := v.Bars[0][0].H + v.Bars[0][1].H
	if want := 12.0 / 20 * (chartH - chartTop - chartBottom); h < want-0.2 || h > want+0.2 {
		t.Errorf("first bar is %.1f high, want %.1f", h, want)
	}
	if !strings.Contains(v.Desc, "18 outcomes") || !strings.Contains(v.Desc, "at most 12 per second") {
		t.Errorf("desc %q", v.Desc)
	}
	// A long send is drawn in buckets of several seconds.
	var pts []store.TimelinePoint
	for i := range 3600 {
		pts = append(pts, store.TimelinePoint{At: t0.Add(time.Duration(i) * time.Second), Sent: 1})
	}
	v = buildChart(pts)
	if v.BucketSeconds != 30 || len(v.Bars) != 120 || v.Rows[0].Sent != 30 || !strings.Contains(v.Title, "per 30 seconds") {
		t.Errorf("an hour: bucket %d, %d bars, first %d", v.BucketSeconds, len(v.Bars), v.Rows[0].Sent)
	}
	for in, want := range map[int64]int64{0: 1, 1: 1, 3: 5, 12: 20, 100: 100, 101: 200, 999: 1000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", in, got, want)
		}
	}
	if num(1234567) != "1,234,567" || num(12) != "12" || num(-1000) != "-1,000" {
		t.Errorf("num: %s %s %s", num(1234567), num(12), num(-1000))
	}
}
