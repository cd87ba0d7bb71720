package importer_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/importer"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls until cond holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling, not waiting for an event
	}
}

func TestMeter(t *testing.T) {
	e := newEnv(t)
	text, _ := manyRows(2000, "en")
	p := &importer.Progress{}
	if _, err := e.im.Import(context.Background(), "app-a", strings.NewReader(text), importer.Options{Progress: p}); err != nil {
		t.Fatal(err)
	}
	if p.Bytes() != int64(len(text)) || p.Rows() != 2000 || p.Bad() == 0 {
		t.Fatalf("progress after the import: %d bytes of %d, %d rows, %d bad", p.Bytes(), len(text), p.Rows(), p.Bad())
	}

	t.Run("log", func(t *testing.T) {
		var out lockedBuffer
		m := importer.StartMeter(&out, p, importer.MeterOptions{Total: int64(len(text)), Interval: time.Millisecond})
		waitFor(t, "a progress line", func() bool { return strings.Count(out.String(), "\n") >= 2 })
		m.Println("line 5: bad")
		m.Stop()
		s := out.String()
		if !strings.Contains(s, "import: 100% ") || !strings.Contains(s, "2000 rows") || strings.Contains(s, "\r") {
			t.Errorf("log lines %q: want plain lines with the percentage and rows", s)
		}
		if !strings.Contains(s, "line 5: bad\n") {
			t.Errorf("Println lost: %q", s)
		}
	})
	t.Run("terminal", func(t *testing.T) {
		var out lockedBuffer
		m := importer.StartMeter(&out, p, importer.MeterOptions{TTY: true, Interval: time.Millisecond})
		waitFor(t, "a drawn line", func() bool { return strings.Contains(out.String(), "\r") })
		m.Println("line 7: bad")
		m.Stop()
		s := out.String()
		if !strings.Contains(s, "\r\x1b[Kline 7: bad\n") {
			t.Errorf("terminal output %q: want the meter cleared before a report", s)
		}
		if !strings.HasSuffix(s, "\r\x1b[K") && !strings.HasSuffix(s, "bad\n") {
			t.Errorf("terminal output %q: want the meter cleared at Stop", s)
		}
		if strings.Contains(s, "%") || strings.Contains(s, "ETA") {
			t.Errorf("terminal output %q: no size, so no percentage or ETA", s)
		}
	})
}
