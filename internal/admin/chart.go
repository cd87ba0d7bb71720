package admin

import (
	"fmt"
	"math"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// Chart geometry, in SVG user units; CSS scales the whole to its box.
const (
	chartW       = 640
	chartH       = 240
	chartLeft    = 48
	chartRight   = 12
	chartTop     = 12
	chartBottom  = 32
	chartMaxBars = 120
	// chartMinSeconds is the shortest time axis: a send that took a second
	// shows as one thin bar, not one bar across the whole chart.
	chartMinSeconds = 30
)

// chartView is the delivery chart: stacked bars of outcomes per bucket of
// seconds, with the same numbers as a table for screen readers and for
// anyone who wants figures.
type chartView struct {
	Empty         bool
	Width, Height int
	Bars          [][]chartRect
	Grid          []chartTick // horizontal lines with their labels
	XTicks        []chartTick
	AxisY, AxisX  float64 // the plot's bottom and left edges
	PlotRight     float64
	Title, Desc   string
	BucketSeconds int
	Rows          []chartRow
}

type chartRect struct {
	X, Y, W, H float64
	Class      string
}

type chartTick struct {
	X, Y  float64
	Label string
}

type chartRow struct {
	At                            string
	Sent, Failed, Pruned, Expired int64
}

// buildChart turns a timeline into a chartView.
func buildChart(points []store.TimelinePoint) chartView {
	v := chartView{Width: chartW, Height: chartH, Empty: len(points) == 0}
	if v.Empty {
		return v
	}
	start := points[0].At
	span := max(int(points[len(points)-1].At.Sub(start)/time.Second)+1, chartMinSeconds)
	bucket := (span + chartMaxBars - 1) / chartMaxBars
	n := (span + bucket - 1) / bucket
	sums := make([]store.TimelinePoint, n)
	for _, p := range points {
		i := int(p.At.Sub(start)/time.Second) / bucket
		s := &sums[i]
		s.Sent, s.Failed, s.Pruned, s.Expired = s.Sent+p.Sent, s.Failed+p.Failed, s.Pruned+p.Pruned, s.Expired+p.Expired
	}
	var peak, total int64
	for i := range sums {
		sums[i].At = start.Add(time.Duration(i*bucket) * time.Second)
		peak = max(peak, sums[i].Total())
		total += sums[i].Total()
	}
	yMax := niceCeil(peak)
	plotW := float64(chartW - chartLeft - chartRight)
	plotH := float64(chartH - chartTop - chartBottom)
	bottom := float64(chartTop) + plotH
	v.AxisY, v.AxisX, v.PlotRight = bottom, chartLeft, chartLeft+plotW
	v.BucketSeconds = bucket
	slot := plotW / float64(n)
	gap := 0.0
	if slot > 4 {
		gap = slot * 0.2
	}
	scale := plotH / float64(yMax)
	for i, s := range sums {
		x := chartLeft + float64(i)*slot + gap/2
		y := bottom
		var bar []chartRect
		for _, part := range []struct {
			n     int64
			class string
		}{{s.Sent, "sent"}, {s.Failed, "failed"}, {s.Pruned, "pruned"}, {s.Expired, "expired"}} {
			if part.n == 0 {
				continue
			}
			h := float64(part.n) * scale
			y -= h
			bar = append(bar, chartRect{X: round1(x), Y: round1(y), W: round1(slot - gap), H: round1(h), Class: part.class})
		}
		if bar != nil {
			v.Bars = append(v.Bars, bar)
		}
		if s.Total() > 0 {
			v.Rows = append(v.Rows, chartRow{At: s.At.UTC().Format("15:04:05"), Sent: s.Sent, Failed: s.Failed, Pruned: s.Pruned, Expired: s.Expired})
		}
	}
	for _, f := range []int64{0, yMax / 2, yMax} {
		if f == yMax/2 && (yMax < 2 || yMax%2 != 0) {
			continue
		}
		v.Grid = append(v.Grid, chartTick{X: chartLeft - 6, Y: round1(bottom - float64(f)*scale), Label: fmt.Sprint(f)})
	}
	v.XTicks = []chartTick{{X: chartLeft, Y: bottom + 20, Label: start.UTC().Format("15:04:05")}}
	if n > 1 {
		v.XTicks = append(v.XTicks, chartTick{X: chartLeft + plotW, Y: bottom + 20, Label: fmt.Sprintf("+%ds", n*bucket)})
	}
	unit := "second"
	if bucket > 1 {
		unit = fmt.Sprintf("%d seconds", bucket)
	}
	v.Title = "Delivery outcomes per " + unit
	v.Desc = fmt.Sprintf("From %s UTC, over %d seconds: %d outcomes, at most %d per %s.",
		start.UTC().Format("15:04:05"), n*bucket, total, peak, unit)
	return v
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v int64) int64 {
	if v <= 1 {
		return 1
	}
	p := int64(math.Pow(10, math.Floor(math.Log10(float64(v)))))
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
