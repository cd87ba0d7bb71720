package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram buckets: values (microseconds) below 2·subBuckets are exact;
// above, each power of two is split in subBuckets, so a quantile is off by
// at most 1/subBuckets (0.8%).
const (
	subBits    = 7
	subBuckets = 1 << subBits
	octaves    = 48 // 2^55 µs is over a thousand years
	numBuckets = 2*subBuckets + octaves*subBuckets
)

// histogram counts durations in log-linear buckets without locks, so a
// million pushes cost 43 KB and no allocation. Safe for concurrent use.
type histogram struct {
	buckets [numBuckets]atomic.Uint64
	n       atomic.Uint64
	max     atomic.Int64 // nanoseconds
}

func bucketOf(us uint64) int {
	if us < 2*subBuckets {
		return int(us)
	}
	shift := bits.Len64(us) - subBits - 1
	return 2*subBuckets + (shift-1)*subBuckets + int(us>>shift) - subBuckets
}

// bucketMid is the middle of bucket i, in microseconds.
func bucketMid(i int) float64 {
	if i < 2*subBuckets {
		return float64(i)
	}
	shift := (i-2*subBuckets)/subBuckets + 1
	top := uint64((i-2*subBuckets)%subBuckets + subBuckets)
	lo := top << shift
	return float64(lo) + float64(uint64(1)<<shift)/2
}

// record counts d; negative durations count as zero.
func (h *histogram) record(d time.Duration) {
	d = max(d, 0)
	i := min(bucketOf(uint64(d/time.Microsecond)), numBuckets-1)
	h.buckets[i].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			break
		}
	}
}

// quantile returns the q-quantile (0 < q ≤ 1), or 0 when empty.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank >= n {
		return time.Duration(h.max.Load())
	}
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= max(rank, 1) {
			return min(time.Duration(bucketMid(i)*float64(time.Microsecond)), time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }
