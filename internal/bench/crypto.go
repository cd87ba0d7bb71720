package bench

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/heraldpush/herald/internal/webpush"
)

// CryptoResult is what [Crypto] measured. The first two fields are the
// fixed surface of `herald bench crypto --json`.
type CryptoResult struct {
	PerSecondOneCore  float64 `json:"per_second_one_core"`
	PerSecondAllCores float64 `json:"per_second_all_cores"`

	Kind         string  `json:"kind"` // "crypto"
	PayloadBytes int     `json:"payload_bytes"`
	Seconds      float64 `json:"seconds"` // of each of the two measurements
	CPUs         int     `json:"cpus"`    // runtime.NumCPU, the goroutines of the all-core run
	GOMAXPROCS   int     `json:"gomaxprocs"`
	Scaling      float64 `json:"scaling"` // all cores / one core
	// PerCPUSecond is encryptions per second of CPU time the all-core run
	// used: what one core does when nothing else wants it, whatever the
	// machine's load.
	PerCPUSecond float64   `json:"per_cpu_second"`
	CPUPressure  string    `json:"cpu_pressure,omitempty"` // /proc/pressure/cpu some avg10 after the run
	LoadAvg      string    `json:"load_avg,omitempty"`
	StartedAt    time.Time `json:"started_at"`
	GoVersion    string    `json:"go_version"`
}

// Payload is the ~200-byte notification every benchmark sends: a title,
// a body and a URL, as a shop would send.
func Payload() []byte {
	p := []byte(`{"id":"1048576","title":"Your order has shipped","body":"Order #48213 left our warehouse and should arrive on Thursday.","url":"https://shop.example.com/orders/48213"}`)
	for len(p) < 200 {
		p = append(p, ' ')
	}
	return p
}

// Crypto measures webpush.Encrypt of Payload to one fixed subscriber key
// for d on one goroutine, then for d on runtime.NumCPU goroutines.
func Crypto(ctx context.Context, d time.Duration) (CryptoResult, error) {
	r := CryptoResult{Kind: "crypto", PayloadBytes: len(Payload()), Seconds: d.Seconds(),
		CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), LoadAvg: loadAvg(),
		StartedAt: time.Now().UTC().Truncate(time.Second), GoVersion: runtime.Version()}
	ua, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return r, fmt.Errorf("bench: subscriber key: %w", err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	one, err := encryptFor(ctx, d, 1, ua.PublicKey(), auth)
	if err != nil {
		return r, err
	}
	cpu0 := cpuTime()
	start := time.Now()
	all, err := encryptFor(ctx, d, r.CPUs, ua.PublicKey(), auth)
	if err != nil {
		return r, err
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		r.PerCPUSecond = round1(all * time.Since(start).Seconds() / cpu.Seconds())
	}
	r.CPUPressure = cpuPressure()
	r.PerSecondOneCore, r.PerSecondAllCores = round1(one), round1(all)
	if one > 0 {
		r.Scaling = round2(all / one)
	}
	return r, nil
}

// encryptFor runs Encrypt on n goroutines for d and returns encryptions
// per second in all.
func encryptFor(ctx context.Context, d time.Duration, n int, pub *ecdh.PublicKey, auth []byte) (float64, error) {
	msg := Payload()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	counts := make([]int, n)
	errs := make([]error, n)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := webpush.Encrypt(msg, pub, auth, webpush.EncryptOptions{}); err != nil {
					errs[g] = err
					return
				}
				counts[g]++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	total := 0
	for g := range n {
		if errs[g] != nil {
			return 0, fmt.Errorf("bench: encrypt: %w", errs[g])
		}
		total += counts[g]
	}
	return float64(total) / elapsed.Seconds(), nil
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
