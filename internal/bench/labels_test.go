package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"runtime/pprof"
	"testing"
)

// TestCPUByLabel profiles two labelled busy loops and reads the split
// back.
func TestCPUByLabel(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skip("a CPU profile is already running:", err)
	}
	// Fixed work, not fixed time: on a busy machine a second of wall
	// time may hold little CPU.
	block := make([]byte, 1<<20)
	spin := func(side string, mb int) {
		pprof.Do(context.Background(), pprof.Labels("side", side), func(context.Context) {
			h := sha256.New()
			for range mb {
				h.Write(block)
			}
		})
	}
	spin("herald", 600)
	spin("testpush", 200)
	pprof.StopCPUProfile()
	by, err := cpuByLabel(buf.Bytes(), "side")
	if err != nil {
		t.Fatal(err)
	}
	h, tp := by["herald"], by["testpush"]
	if h <= 0 || tp <= 0 || h < tp {
		t.Fatalf("CPU by side: %v", by)
	}
	if _, err := cpuByLabel([]byte("not a profile"), "side"); err == nil {
		t.Fatal("garbage parsed")
	}
}
