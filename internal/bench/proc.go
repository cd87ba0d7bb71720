package bench

import (
	"bufio"
	"bytes"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procStatusKB reads one "Name:  123 kB" line of /proc/self/status, in
// kB; 0 where there is no /proc.
func procStatusKB(name string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		return n
	}
	return 0
}

// peakRSSMB is VmHWM, the process's peak resident set, in MB.
func peakRSSMB() float64 { return mb(procStatusKB("VmHWM")) }

// rssMB is VmRSS, the process's resident set now, in MB.
func rssMB() float64 { return mb(procStatusKB("VmRSS")) }

func mb(kb int64) float64 { return round1(float64(kb) / 1024) }

// resetPeakRSS sets VmHWM back to the current RSS (Linux 4.0+), so a
// later peakRSSMB covers only what came after. It reports whether it could.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// goHeapMB is the Go heap in use (live and not yet swept), in MB.
func goHeapMB() float64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return round1(float64(s[0].Value.Uint64()) / (1 << 20))
}

// loadAvg is the 1, 5 and 15 minute load averages, "" where unknown.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// cpuTime is the CPU time (user and system) the process has used so far,
// so a run on a busy machine can still say what each push cost.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPressure is the "some avg10" of /proc/pressure/cpu: the share of the
// last 10 s in which some runnable task waited for a CPU, "" where unknown.
func cpuPressure() string {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return ""
	}
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "avg10="); ok {
			return v + "%"
		}
	}
	return ""
}
