package testpush

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Behavior is an injected failure. The zero value does nothing.
type Behavior struct {
	// Status, if 400 or more, is answered instead of processing the push.
	// Smaller values are ignored: testpush never fakes success.
	Status int
	// RetryAfter, if positive, is sent as a Retry-After header in whole
	// seconds (rounded up) with Status: use it with 429 and 503.
	RetryAfter time.Duration
	// Delay holds the answer back this long. With no Status the push is
	// then processed normally: a slow but working service.
	Delay time.Duration
	// Times, if positive, limits the behaviour to the next Times requests;
	// after them the endpoint recovers. Zero means until Recover.
	Times int
}

// Respond answers every request with status (404, 410, 413, 500, ...).
func Respond(status int) Behavior { return Behavior{Status: status} }

// RateLimited answers 429 Too Many Requests with Retry-After.
func RateLimited(retryAfter time.Duration) Behavior {
	return Behavior{Status: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

// Unavailable answers 503 Service Unavailable with Retry-After (none when
// retryAfter is zero).
func Unavailable(retryAfter time.Duration) Behavior {
	return Behavior{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter}
}

// Slow delays every answer by d and then processes the push normally.
func Slow(d time.Duration) Behavior { return Behavior{Delay: d} }

// FailNext answers the next k requests with status and then recovers.
func FailNext(k, status int) Behavior { return Behavior{Status: status, Times: k} }

// fault is an installed Behavior and what is left of its Times.
type fault struct {
	b    Behavior
	left atomic.Int64
}

func newFault(b Behavior) *fault {
	f := &fault{b: b}
	f.left.Store(int64(b.Times))
	return f
}

// take reports whether the behaviour applies to this request, using up
// one of its Times.
func (f *fault) take() bool {
	if f.b.Times <= 0 {
		return true
	}
	return f.left.Add(-1) >= 0
}

// faults holds the injected behaviours. The push path pays one atomic load
// when none is installed for any endpoint.
type faults struct {
	perID  sync.Map // id -> *fault
	nPerID atomic.Int64
	global atomic.Pointer[fault]
	seq    atomic.Uint64 // pushes seen by FailRate
}

// Fail makes the endpoint with this id behave as b until Recover(id), or
// for b.Times requests. The id need not exist: an injected failure is
// answered before the subscription is looked up. It replaces any earlier
// behaviour for id and takes precedence over FailAll.
func (s *Server) Fail(id string, b Behavior) {
	if _, loaded := s.faults.perID.Swap(id, newFault(b)); !loaded {
		s.faults.nPerID.Add(1)
	}
}

// Recover removes the behaviour Fail installed for id.
func (s *Server) Recover(id string) {
	if _, loaded := s.faults.perID.LoadAndDelete(id); loaded {
		s.faults.nPerID.Add(-1)
	}
}

// FailAll makes every endpoint behave as b until RecoverAll, or for
// b.Times requests in all. Endpoints with their own Fail behaviour use
// that instead.
func (s *Server) FailAll(b Behavior) { s.faults.global.Store(newFault(b)) }

// RecoverAll removes the behaviour FailAll installed. Options.FailRate and
// per-endpoint behaviours stay.
func (s *Server) RecoverAll() { s.faults.global.Store(nil) }

// pickFault returns the behaviour that applies to this push, or nil.
func (s *Server) pickFault(id string) *Behavior {
	f := &s.faults
	if f.nPerID.Load() > 0 {
		if v, ok := f.perID.Load(id); ok {
			if ft := v.(*fault); ft.take() {
				return &ft.b
			}
		}
	}
	if g := f.global.Load(); g != nil && g.take() {
		return &g.b
	}
	if r := s.o.FailRate; r > 0 {
		// Push n fails when n*r crosses an integer: exactly a fraction r
		// fails, evenly spread, with no random source to seed.
		n := f.seq.Add(1)
		if uint64(float64(n)*r) != uint64(float64(n-1)*r) {
			return &s.o.FailWith
		}
	}
	return nil
}
