//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts are only meaningful without it.

package tracking

import "testing"

func TestAppendSigDoesNotAllocate(t *testing.T) {
	k, _ := DeriveKeys(master(1))
	buf := make([]byte, 0, 64)
	k.AppendSig(buf, "app_0123456789abcdef", 1, "r_0123456789012345678901") // warm the pool
	n := testing.AllocsPerRun(100, func() {
		buf = k.AppendSig(buf[:0], "app_0123456789abcdef", 123456, "r_0123456789012345678901")
	})
	if n > 0 {
		t.Errorf("AppendSig allocates %.1f times per call, want 0", n)
	}
}
