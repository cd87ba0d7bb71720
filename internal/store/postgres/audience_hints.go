package postgres

import (
	"sync"
	"time"
)

// denseHints remembers, for a few seconds, the expressions whose tags OR
// list a page's probe found dense (see page): the next pages of the same
// stream then read members straight away instead of probing again, one
// statement a page less. A hint only ever chooses between two correct
// ways to read; a stale one costs time, never a member. Safe for
// concurrent use.
//
// It also keeps, for the same time, each expression's spacing of members
// (spans, see audience_not.go), which sizes the id range a page with a
// long tags NOT list reads; a stale one also costs only time.
type denseHints struct {
	mu    sync.Mutex
	until map[string]time.Time // expression key → when its hint expires
	spans map[string]spanHint  // expression key → its members' spacing
}

const (
	// hintTTL is how long a dense hint lasts: a stream of a million
	// reads its pages within it several times over.
	hintTTL = 10 * time.Second
	// maxHints bounds the map; when full, expired hints go first, and
	// then all of them.
	maxHints = 256
)

// dense reports whether key was found dense less than hintTTL before now.
func (h *denseHints) dense(key string, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return now.Before(h.until[key])
}

// setDense records that key was found dense at now.
func (h *denseHints) setDense(key string, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.until == nil {
		h.until = map[string]time.Time{}
	}
	if len(h.until) >= maxHints {
		for k, t := range h.until {
			if !now.Before(t) {
				delete(h.until, k)
			}
		}
		if len(h.until) >= maxHints {
			clear(h.until)
		}
	}
	h.until[key] = now.Add(hintTTL)
}
