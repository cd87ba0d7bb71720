package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes r for people.
func (r WebPushResult) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	verify := "verify all"
	if r.Verify == "sample" {
		verify = fmt.Sprintf("verify sample (1 in %d decrypted)", r.SampleEvery)
	}
	status := "OK: every push accounted for"
	if !r.OK {
		status = "FAILED: " + strings.Join(r.Problems, "; ")
	}
	proto := "HTTP/" + r.HTTP + " over TLS"
	if r.HTTP == "2" && r.PushServer != "" {
		proto += " (testpush's " + r.PushServer + " server)"
	}
	fmt.Fprintf(tw, "herald bench webpush\t%s subscribers, %s, %s, %d-byte payload\n",
		thousands(int64(r.Subscribers)), verify, proto, r.PayloadBytes)
	if r.Store != "" {
		fmt.Fprintf(tw, "store\t%s, %d node(s) sharing the send\n", r.Store, r.Nodes)
	}
	fmt.Fprintf(tw, "machine\t%d CPUs (GOMAXPROCS %d), %s, load %s before, %s after\n", r.CPUs, r.GOMAXPROCS, r.GoVersion, r.LoadAvg, r.LoadAvgAfter)
	fmt.Fprintf(tw, "result\t%s\n", status)
	fmt.Fprintf(tw, "delivered\t%s / %s (%d missing, %d duplicates; testpush accepted %s, decrypted %s, rejected %d)\n",
		thousands(int64(r.Delivered)), thousands(int64(r.Subscribers)), r.Missing, r.Duplicates,
		thousands(int64(r.PushesTotal)), thousands(int64(r.Decrypted)), sum(r.Rejected))
	fmt.Fprintf(tw, "time\t%.2f s accept → last push; message done after %.2f s (submit %.1f ms, setup %.1f s untimed)\n",
		r.Seconds, r.DoneSeconds, r.SubmitMs, r.SetupSeconds)
	rate := thousands(int64(r.PerSecond)) + " pushes/s"
	if r.CryptoPerSecondAllCores > 0 {
		rate += fmt.Sprintf(" = %.0f%% of the all-core crypto rate (%s/s; one core %s/s)", 100*r.FractionOfCrypto,
			thousands(int64(r.CryptoPerSecondAllCores)), thousands(int64(r.CryptoPerSecondOneCore)))
	}
	fmt.Fprintf(tw, "rate\t%s\n", rate)
	cpu := fmt.Sprintf("%.2f CPU-s for the send = %.1f µs per push (Herald and testpush)", r.CPUSeconds, r.CPUUsPerPush)
	if r.CryptoPerCPUSecond > 0 {
		cpu += fmt.Sprintf("; the crypto floor is %.1f µs = %.0f%% of it", 1e6/r.CryptoPerCPUSecond, 100*r.FractionOfCryptoCPU)
	}
	fmt.Fprintf(tw, "cpu\t%s; CPU pressure %s\n", cpu, r.CPUPressure)
	if r.HeraldCPUUsPerPush > 0 {
		fmt.Fprintf(tw, "profile\tHerald %.2f CPU-s, testpush %.2f, runtime %.2f: Herald alone %.1f µs per push", r.HeraldCPUSeconds,
			r.TestpushCPUSeconds, r.RuntimeCPUSeconds, r.HeraldCPUUsPerPush)
		if r.HeraldFractionOfCrypto > 0 {
			fmt.Fprintf(tw, " = %.0f%% of the all-core crypto rate with the machine to itself", 100*r.HeraldFractionOfCrypto)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "accept → push\tfirst %s; p50 %s, p90 %s, p99 %s, max %s\n",
		msText(r.FirstPushMs), msText(r.P50ms), msText(r.P90ms), msText(r.P99ms), msText(r.MaxMs))
	if r.BusyProbes > 0 {
		fmt.Fprintf(tw, "busy probes\t%d one-recipient sends during the send: accept → push p50 %s, p99 %s, max %s\n",
			r.BusyProbes, msText(r.BusyProbeP50ms), msText(r.BusyProbeP99ms), msText(r.BusyProbeMaxMs))
	}
	if r.Probes > 0 {
		fmt.Fprintf(tw, "idle probes\t%d one-recipient sends: accept → push p50 %s, p99 %s, max %s\n",
			r.Probes, msText(r.ProbeP50ms), msText(r.ProbeP99ms), msText(r.ProbeMaxMs))
	}
	fmt.Fprintf(tw, "memory\tpeak RSS %.1f MB (%s); RSS %.1f MB before, %.1f–%.1f MB during, %.1f MB after (heap %.1f MB); setup peak %.1f MB\n",
		r.PeakRSSMB, r.PeakRSSScope, r.RSSBeforeSendMB, r.RSSMinSendMB, r.RSSMaxSendMB, r.RSSAfterMB, r.HeapAfterMB, r.SetupPeakRSSMB)
	if len(r.RSSByTenth) > 0 {
		fmt.Fprintf(tw, "memory by tenth\tRSS %s MB; Go heap %s MB\n", floats(r.RSSByTenth), floats(r.GoHeapByTenth))
	}
	m := r.Message
	fmt.Fprintf(tw, "message %d\t%s: targeted %s, sent %s, failed %d, pruned %d, expired %d%s\n", r.MessageID, m.State,
		thousands(m.Targeted), thousands(m.Sent), m.Failed, m.Pruned, m.Expired, reasons(m.FailedReasons))
	return tw.Flush()
}

// WriteTable writes r for people.
func (r CryptoResult) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "herald bench crypto\twebpush.Encrypt of a %d-byte payload (ephemeral P-256 key, ECDH, HKDF, AES-128-GCM), %.1f s each\n", r.PayloadBytes, r.Seconds)
	fmt.Fprintf(tw, "machine\t%d CPUs (GOMAXPROCS %d), %s, load %s\n", r.CPUs, r.GOMAXPROCS, r.GoVersion, r.LoadAvg)
	fmt.Fprintf(tw, "one core\t%s/s\n", thousands(int64(r.PerSecondOneCore)))
	fmt.Fprintf(tw, "all cores\t%s/s on %d goroutines (×%.2f); %s per CPU-second used; CPU pressure %s\n",
		thousands(int64(r.PerSecondAllCores)), r.CPUs, r.Scaling, thousands(int64(r.PerCPUSecond)), r.CPUPressure)
	return tw.Flush()
}

func msText(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func floats(v []float64) string {
	s := make([]string, len(v))
	for i, f := range v {
		s[i] = fmt.Sprintf("%.0f", f)
	}
	return strings.Join(s, " ")
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

func reasons(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	return " " + jsonString(m)
}

// SaveResult writes v as indented JSON to dir/KIND-YYYYMMDDTHHMMSSZ.json,
// creating dir, and returns the file's path.
func SaveResult(dir, kind string, v any, at time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("bench: results dir: %w", err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("bench: encode result: %w", err)
	}
	name := kind + "-" + at.UTC().Format("20060102T150405Z")
	path := filepath.Join(dir, name+".json")
	for i := 2; ; i++ { // two runs in one second keep both files
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if os.IsExist(err) {
			path = filepath.Join(dir, fmt.Sprintf("%s-%d.json", name, i))
			continue
		}
		if err != nil {
			return "", fmt.Errorf("bench: save result: %w", err)
		}
		_, err = f.Write(append(b, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("bench: save result: %w", err)
		}
		return path, nil
	}
}
