package importer

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress is a running import's counts. Import writes it; anyone may read
// it meanwhile.
type Progress struct {
	bytes                             atomic.Int64
	rows, created, updated, unchanged atomic.Int64
	bad, skipped                      atomic.Int64
}

// Bytes is how much of the file has been read.
func (p *Progress) Bytes() int64 { return p.bytes.Load() }

// Rows is how many rows have been judged so far.
func (p *Progress) Rows() int64 { return p.rows.Load() }

// Bad is how many rows were bad so far.
func (p *Progress) Bad() int64 { return p.bad.Load() }

func (p *Progress) publish(s *Stats) {
	p.rows.Store(s.Read)
	p.created.Store(s.Created)
	p.updated.Store(s.Updated)
	p.unchanged.Store(s.Unchanged)
	p.bad.Store(s.Bad)
	p.skipped.Store(s.Skipped)
}

// countingReader counts the bytes read through it into a Progress.
type countingReader struct {
	r io.Reader
	p *Progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.bytes.Add(int64(n))
	return n, err
}

// Meter shows an import's progress on a writer (stderr): on a terminal, one
// line redrawn in place with "\r" a few times a second; elsewhere (CI logs,
// files) a plain line every interval, so logs stay short. Its methods are
// safe for concurrent use.
type Meter struct {
	mu       sync.Mutex
	w        io.Writer
	p        *Progress
	total    int64 // file size; 0 when unknown (a pipe)
	tty      bool
	start    time.Time
	now      func() time.Time
	drawn    bool // a \r line is on screen
	stop     chan struct{}
	finished chan struct{}
}

// MeterOptions configure a Meter.
type MeterOptions struct {
	Total    int64         // bytes in the file; 0 when unknown
	TTY      bool          // w is a terminal: redraw one line
	Interval time.Duration // 0 means 200ms on a terminal, 5s elsewhere
	Now      func() time.Time
}

// StartMeter starts showing p on w until Stop.
func StartMeter(w io.Writer, p *Progress, o MeterOptions) *Meter {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
		if o.TTY {
			o.Interval = 200 * time.Millisecond
		}
	}
	m := &Meter{w: w, p: p, total: o.Total, tty: o.TTY, start: o.Now(), now: o.Now,
		stop: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(m.finished)
		t := time.NewTicker(o.Interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				m.draw()
			case <-m.stop:
				return
			}
		}
	}()
	return m
}

// Println prints a line (a bad row's report) without garbling the meter.
func (m *Meter) Println(a ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clearLocked()
	fmt.Fprintln(m.w, a...)
}

// Stop stops the meter and clears its line.
func (m *Meter) Stop() {
	close(m.stop)
	<-m.finished
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clearLocked()
}

func (m *Meter) clearLocked() {
	if m.drawn {
		fmt.Fprint(m.w, "\r\x1b[K")
		m.drawn = false
	}
}

func (m *Meter) draw() {
	m.mu.Lock()
	defer m.mu.Unlock()
	line := m.line()
	if m.tty {
		fmt.Fprint(m.w, "\r\x1b[K"+line)
		m.drawn = true
		return
	}
	fmt.Fprintln(m.w, line)
}

// line is "import: 42% 118 MB of 280 MB, 412,000 rows, 38,100 rows/s, ETA 4s".
func (m *Meter) line() string {
	elapsed := m.now().Sub(m.start).Seconds()
	done, rows := m.p.Bytes(), m.p.Rows()
	var b strings.Builder
	b.WriteString("import: ")
	if m.total > 0 {
		fmt.Fprintf(&b, "%d%% %s of %s, ", min(100, done*100/m.total), mb(done), mb(m.total))
	} else {
		fmt.Fprintf(&b, "%s, ", mb(done))
	}
	fmt.Fprintf(&b, "%d rows", rows)
	if bad := m.p.Bad(); bad > 0 {
		fmt.Fprintf(&b, " (%d bad)", bad)
	}
	if elapsed > 0 {
		fmt.Fprintf(&b, ", %.0f rows/s", float64(rows)/elapsed)
		if m.total > 0 && done > 0 && done < m.total {
			eta := time.Duration(float64(m.total-done) / (float64(done) / elapsed) * float64(time.Second))
			fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
		}
	}
	return b.String()
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
