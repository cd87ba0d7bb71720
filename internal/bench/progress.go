package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// progress draws `[#####.....] 45,000/100,000  12,345/s  ETA 4s` on a
// terminal, redrawn in place; elsewhere (CI logs) it writes one line at
// each tenth of the way and at most one every 10 seconds otherwise.
type progress struct {
	w     io.Writer // nil: draw nothing
	tty   bool
	what  string
	total int
	start time.Time

	lastDraw  time.Time
	lastTenth int
}

const barWidth = 30

func newProgress(w io.Writer, tty bool, what string, total int) *progress {
	now := time.Now()
	return &progress{w: w, tty: tty, what: what, total: total, start: now, lastDraw: now}
}

// update shows done of total.
func (p *progress) update(done int) {
	if p.w == nil || p.total <= 0 {
		return
	}
	now := time.Now()
	if p.tty {
		if now.Sub(p.lastDraw) < 200*time.Millisecond && done < p.total {
			return
		}
		p.lastDraw = now
		fmt.Fprintf(p.w, "\r%s", p.line(done, now))
		return
	}
	tenth := done * 10 / p.total
	if tenth == p.lastTenth && now.Sub(p.lastDraw) < 10*time.Second {
		return
	}
	p.lastTenth, p.lastDraw = tenth, now
	fmt.Fprintln(p.w, p.line(done, now))
}

// finish draws the final state and ends the line.
func (p *progress) finish(done int) {
	if p.w == nil || p.total <= 0 {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\n", p.line(done, time.Now()))
		return
	}
	if done*10/p.total != p.lastTenth || done != p.total {
		fmt.Fprintln(p.w, p.line(done, time.Now()))
	}
}

func (p *progress) line(done int, now time.Time) string {
	filled := min(barWidth*done/p.total, barWidth)
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	eta := "?"
	if rate > 0 {
		eta = time.Duration(float64(p.total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%-7s [%s%s] %s/%s  %s/s  ETA %s   ", p.what,
		strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled),
		thousands(int64(done)), thousands(int64(p.total)), thousands(int64(rate)), eta)
}

// thousands writes n with comma separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
