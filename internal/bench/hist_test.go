package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsRoundTrip(t *testing.T) {
	for _, us := range []uint64{0, 1, 255, 256, 257, 1000, 12345, 1 << 20, 1<<40 + 12345} {
		mid := bucketMid(bucketOf(us))
		if diff := (mid - float64(us)) / max(float64(us), 1); diff < -0.01 || diff > 0.01 {
			t.Errorf("%d µs lands in a bucket centred on %.1f", us, mid)
		}
	}
	for i := 1; i < numBuckets; i++ {
		if bucketMid(i) <= bucketMid(i-1) {
			t.Fatalf("bucket %d is not above bucket %d", i, i-1)
		}
	}
}

func TestQuantiles(t *testing.T) {
	var h histogram
	if h.quantile(0.5) != 0 {
		t.Fatal("empty histogram has a median")
	}
	vals := make([]time.Duration, 10000)
	for i := range vals {
		vals[i] = time.Duration(rand.Int64N(int64(20 * time.Second)))
		h.record(vals[i])
	}
	h.record(-time.Second) // counts as zero
	vals = append(vals, 0)
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 1} {
		want := vals[int(math.Ceil(q*float64(len(vals))))-1] // the rank quantile uses
		got := h.quantile(q)
		if d := float64(got-want) / float64(want); d < -0.01 || d > 0.01 {
			t.Errorf("q%.2f = %v, want %v ±1%%", q, got, want)
		}
	}
	if h.quantile(1) != vals[len(vals)-1] {
		t.Errorf("q1 = %v, want the maximum %v", h.quantile(1), vals[len(vals)-1])
	}
}
