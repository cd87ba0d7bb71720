package admin

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Login limits: failures allowed per client address, and in total, within
// loginWindow. A guesser gets 5 tries per quarter hour per address and the
// whole world 50; the operator who mistyped waits at most the window.
const (
	loginWindow       = 15 * time.Minute
	loginPerAddr      = 5
	loginTotal        = 50
	maxTrackedClients = 10000
	// loginConcurrency bounds password checks at once: each takes tens of
	// MiB for argon2id.
	loginConcurrency = 2
)

// loginLimiter counts failed logins in a sliding window.
type loginLimiter struct {
	mu     sync.Mutex
	byAddr map[string][]time.Time
	all    []time.Time
	now    func() time.Time
	slots  chan struct{}
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{byAddr: map[string][]time.Time{}, now: now, slots: make(chan struct{}, loginConcurrency)}
}

// clientAddr is the request's remote IP.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// recent drops the times older than the window.
func recent(ts []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(since) {
		i++
	}
	return ts[i:]
}

// allow says whether addr may try a password now, and if not, when it may.
func (l *loginLimiter) allow(addr string) (bool, time.Duration) {
	now := l.now()
	since := now.Add(-loginWindow)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = recent(l.all, since)
	ts := recent(l.byAddr[addr], since)
	if len(ts) == 0 {
		delete(l.byAddr, addr)
	} else {
		l.byAddr[addr] = ts
	}
	switch {
	case len(ts) >= loginPerAddr:
		return false, ts[0].Add(loginWindow).Sub(now)
	case len(l.all) >= loginTotal:
		return false, l.all[0].Add(loginWindow).Sub(now)
	}
	return true, 0
}

// fail records a failed login from addr.
func (l *loginLimiter) fail(addr string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.byAddr) >= maxTrackedClients {
		since := now.Add(-loginWindow)
		for a, ts := range l.byAddr {
			if len(recent(ts, since)) == 0 {
				delete(l.byAddr, a)
			}
		}
	}
	l.byAddr[addr] = append(l.byAddr[addr], now)
	l.all = append(l.all, now)
}

// succeed forgets addr's failures.
func (l *loginLimiter) succeed(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.byAddr, addr)
}

// acquire waits for a password-check slot, or returns false when the
// request is given up.
func (l *loginLimiter) acquire(r *http.Request) bool {
	select {
	case l.slots <- struct{}{}:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (l *loginLimiter) release() { <-l.slots }
