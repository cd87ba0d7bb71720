package postgres

import (
	"fmt"
	"testing"
	"time"
)

func TestDenseHints(t *testing.T) {
	var h denseHints
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if h.dense("a", t0) {
		t.Fatal("an empty hint set says dense")
	}
	h.setDense("a", t0)
	if !h.dense("a", t0.Add(hintTTL-time.Millisecond)) {
		t.Error("a hint expired before hintTTL")
	}
	if h.dense("a", t0.Add(hintTTL)) {
		t.Error("a hint outlived hintTTL")
	}
	if h.dense("b", t0) {
		t.Error("a hint of another expression")
	}
	// Full of live hints: it starts again rather than grow.
	for i := range 3 * maxHints {
		h.setDense(fmt.Sprint(i), t0)
		if len(h.until) > maxHints {
			t.Fatalf("%d hints, more than maxHints", len(h.until))
		}
	}
	// Full, with expired ones: those go, the live stay.
	clear(h.until)
	for i := range maxHints - 1 {
		h.setDense(fmt.Sprint("old", i), t0)
	}
	later := t0.Add(2 * hintTTL)
	h.setDense("live", later)
	h.setDense("new", later)
	if !h.dense("live", later) || !h.dense("new", later) || len(h.until) != 2 {
		t.Errorf("after expiry: %d hints, live %v, new %v", len(h.until), h.dense("live", later), h.dense("new", later))
	}
}
