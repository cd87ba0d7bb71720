package h2client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCancelledAmongAnswered mixes requests whose context ends while the
// handler holds them with requests answered at once, on two connections'
// worth of streams: the cancelled ones fail with their context's error,
// all the others get their own answer, and the slots the cancelled ones
// held are reused.
func TestCancelledAmongAnswered(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/hold") {
			<-r.Context().Done()
			return
		}
		echo(w, r)
	})
	ts := startServer(t, h, &http.HTTP2Config{MaxConcurrentStreams: 20}, nil)
	tr := newTransport(t, ts, Options{MaxConns: 2})
	errs := make(chan error, 400)
	var wg sync.WaitGroup
	for i := range 400 {
		wg.Go(func() {
			if i%4 == 0 {
				ctx, cancel := context.WithTimeout(t.Context(), time.Duration(1+i%7)*time.Millisecond)
				defer cancel()
				if _, _, err := do(ctx, tr, fmt.Sprintf("%s/hold/%d", ts.URL, i), []byte("h"), nil); !errors.Is(err, context.DeadlineExceeded) {
					errs <- fmt.Errorf("held %d: %v, want a deadline error", i, err)
				}
				return
			}
			body := []byte(fmt.Sprintf("answer %d", i))
			resp, got, err := do(t.Context(), tr, fmt.Sprintf("%s/now/%d", ts.URL, i), body, nil)
			if err == nil && (resp.StatusCode != http.StatusCreated || !bytes.Equal(got, body)) {
				err = fmt.Errorf("%s %q", resp.Status, got)
			}
			if err != nil {
				errs <- fmt.Errorf("request %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := ts.newConns.Load(); c > 2 {
		t.Errorf("%d connections, at most 2 allowed", c)
	}
}
