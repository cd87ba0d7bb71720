package apnstest

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Behavior is an injected failure. The zero value does nothing.
type Behavior struct {
	// Status, if 400 or more, is answered instead of accepting the
	// notification. Smaller values are ignored: the fake never fakes
	// success.
	Status int
	// Reason is the {"reason":...} answered with Status; empty means
	// Apple's usual one for Status (Unregistered for 410, TooManyRequests
	// for 429, ...).
	Reason string
	// RetryAfter, if positive, is sent as a Retry-After header in whole
	// seconds (rounded up) with Status.
	RetryAfter time.Duration
	// Delay holds the answer back this long. With no Status the request is
	// then processed normally: a slow but working APNs.
	Delay time.Duration
	// Times, if positive, limits the behaviour to the next Times requests;
	// after them the token recovers. Zero means until Recover.
	Times int
}

// Unregistered answers 410 Unregistered, with the timestamp of the
// answer as when the token was last valid.
func Unregistered() Behavior { return Behavior{Status: http.StatusGone, Reason: "Unregistered"} }

// BadDeviceToken answers 400 BadDeviceToken.
func BadDeviceToken() Behavior {
	return Behavior{Status: http.StatusBadRequest, Reason: "BadDeviceToken"}
}

// TooManyRequests answers 429 TooManyRequests, with Retry-After when
// retryAfter is positive.
func TooManyRequests(retryAfter time.Duration) Behavior {
	return Behavior{Status: http.StatusTooManyRequests, Reason: "TooManyRequests", RetryAfter: retryAfter}
}

// InternalServerError answers 500 InternalServerError.
func InternalServerError() Behavior {
	return Behavior{Status: http.StatusInternalServerError, Reason: "InternalServerError"}
}

// ServiceUnavailable answers 503 ServiceUnavailable, with Retry-After when
// retryAfter is positive.
func ServiceUnavailable(retryAfter time.Duration) Behavior {
	return Behavior{Status: http.StatusServiceUnavailable, Reason: "ServiceUnavailable", RetryAfter: retryAfter}
}

// Reject answers status with reason, e.g. Reject(400, "BadTopic").
func Reject(status int, reason string) Behavior { return Behavior{Status: status, Reason: reason} }

// Slow delays every answer by d and then processes the request normally.
func Slow(d time.Duration) Behavior { return Behavior{Delay: d} }

// FailNext applies b to the next k requests only.
func FailNext(k int, b Behavior) Behavior {
	b.Times = k
	return b
}

// defaultReasons are the reasons answered with a Behavior's Status when it
// names none.
var defaultReasons = map[int]string{
	http.StatusBadRequest:            "BadDeviceToken",
	http.StatusForbidden:             "Forbidden",
	http.StatusNotFound:              "BadPath",
	http.StatusGone:                  "Unregistered",
	http.StatusRequestEntityTooLarge: "PayloadTooLarge",
	http.StatusTooManyRequests:       "TooManyRequests",
	http.StatusInternalServerError:   "InternalServerError",
	http.StatusServiceUnavailable:    "ServiceUnavailable",
}

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

// faults holds the injected behaviours. The request path pays one atomic
// load when none is installed for any token.
type faults struct {
	perToken sync.Map // device token -> *fault
	n        atomic.Int64
	global   atomic.Pointer[fault]
}

// Fail makes device token behave as b until Recover(token), or for
// b.Times requests. It replaces any earlier behaviour for token and takes
// precedence over FailAll.
func (s *Server) Fail(token string, b Behavior) {
	if _, loaded := s.faults.perToken.Swap(token, newFault(b)); !loaded {
		s.faults.n.Add(1)
	}
}

// Recover removes the behaviour Fail installed for token.
func (s *Server) Recover(token string) {
	if _, loaded := s.faults.perToken.LoadAndDelete(token); loaded {
		s.faults.n.Add(-1)
	}
}

// FailAll makes every token behave as b until RecoverAll, or for b.Times
// requests in all. Tokens with their own Fail behaviour use that instead.
func (s *Server) FailAll(b Behavior) { s.faults.global.Store(newFault(b)) }

// RecoverAll removes the behaviour FailAll installed.
func (s *Server) RecoverAll() { s.faults.global.Store(nil) }

// pickFault returns the behaviour that applies to this request, or nil.
func (s *Server) pickFault(token string) *Behavior {
	f := &s.faults
	if f.n.Load() > 0 {
		if v, ok := f.perToken.Load(token); ok {
			if ft := v.(*fault); ft.take() {
				return &ft.b
			}
		}
	}
	if g := f.global.Load(); g != nil && g.take() {
		return &g.b
	}
	return nil
}

// inject applies b and reports whether it answered the request.
func (s *Server) inject(w http.ResponseWriter, r *http.Request, b *Behavior) bool {
	if b.Delay > 0 {
		t := time.NewTimer(b.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			s.reject(w, http.StatusServiceUnavailable, "ServiceUnavailable", true)
			return true
		case <-s.done:
			s.reject(w, http.StatusServiceUnavailable, "Shutdown", true)
			return true
		}
	}
	if b.Status < 400 {
		return false
	}
	if b.RetryAfter > 0 {
		secs := (b.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	reason := b.Reason
	if reason == "" {
		reason = defaultReasons[b.Status]
	}
	s.reject(w, b.Status, reason, true)
	return true
}
