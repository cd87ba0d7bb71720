package fcmtest

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Behavior is an injected failure. The zero value does nothing.
type Behavior struct {
	// Status, if 400 or more, is answered instead of processing the
	// request. Smaller values are ignored: the fake never fakes success.
	Status int
	// Code is the FCM error code put in the error's details
	// ("UNREGISTERED", "QUOTA_EXCEEDED", ...); empty sends none.
	Code string
	// Bare answers Status with no Google error body, like a proxy would.
	Bare bool
	// RetryAfter, if positive, is sent as Retry-After in whole seconds
	// (rounded up) with Status.
	RetryAfter time.Duration
	// Delay holds the answer back this long.
	Delay time.Duration
	// Gate, if not nil, holds the answer back until it is closed, so a
	// test can have many requests in flight at once without sleeping.
	Gate <-chan struct{}
	// Times, if positive, limits the behaviour to the next Times
	// requests; zero means until Recover.
	Times int
}

// Unregistered answers 404 NOT_FOUND with FCM code UNREGISTERED: the
// token is dead.
func Unregistered() Behavior {
	return Behavior{Status: http.StatusNotFound, Code: "UNREGISTERED"}
}

// InvalidArgument answers 400 INVALID_ARGUMENT with the same FCM code.
func InvalidArgument() Behavior {
	return Behavior{Status: http.StatusBadRequest, Code: "INVALID_ARGUMENT"}
}

// SenderIDMismatch answers 403 PERMISSION_DENIED, SENDER_ID_MISMATCH: the
// token belongs to another project.
func SenderIDMismatch() Behavior {
	return Behavior{Status: http.StatusForbidden, Code: "SENDER_ID_MISMATCH"}
}

// ThirdPartyAuthError answers 401 UNAUTHENTICATED, THIRD_PARTY_AUTH_ERROR:
// the project's APNs or Web Push credentials are bad.
func ThirdPartyAuthError() Behavior {
	return Behavior{Status: http.StatusUnauthorized, Code: "THIRD_PARTY_AUTH_ERROR"}
}

// QuotaExceeded answers 429 RESOURCE_EXHAUSTED, QUOTA_EXCEEDED, with
// Retry-After (none when retryAfter is zero).
func QuotaExceeded(retryAfter time.Duration) Behavior {
	return Behavior{Status: http.StatusTooManyRequests, Code: "QUOTA_EXCEEDED", RetryAfter: retryAfter}
}

// Unavailable answers 503 UNAVAILABLE with Retry-After (none when zero).
func Unavailable(retryAfter time.Duration) Behavior {
	return Behavior{Status: http.StatusServiceUnavailable, Code: "UNAVAILABLE", RetryAfter: retryAfter}
}

// Internal answers 500 INTERNAL.
func Internal() Behavior {
	return Behavior{Status: http.StatusInternalServerError, Code: "INTERNAL"}
}

// Slow holds every answer back by d, then processes the request.
func Slow(d time.Duration) Behavior { return Behavior{Delay: d} }

// FailNext limits b to the next k requests.
func FailNext(k int, b Behavior) Behavior {
	b.Times = k
	return b
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

func (f *fault) take() bool {
	if f.b.Times <= 0 {
		return true
	}
	return f.left.Add(-1) >= 0
}

// faults holds the injected behaviours.
type faults struct {
	perToken  sync.Map // device token -> *fault
	nPerToken atomic.Int64
	global    atomic.Pointer[fault]
	token     atomic.Pointer[fault] // the token endpoint's
}

// Fail makes sends to this device token behave as b until Recover, or
// for b.Times sends. It is applied after the access token and the body
// are checked, and replaces any earlier behaviour for the token.
func (s *Server) Fail(deviceToken string, b Behavior) {
	if _, loaded := s.faults.perToken.Swap(deviceToken, newFault(b)); !loaded {
		s.faults.nPerToken.Add(1)
	}
}

// Recover removes the behaviour Fail installed for the device token.
func (s *Server) Recover(deviceToken string) {
	if _, loaded := s.faults.perToken.LoadAndDelete(deviceToken); loaded {
		s.faults.nPerToken.Add(-1)
	}
}

// FailAll makes every send behave as b until RecoverAll, or for b.Times
// sends in all. It is applied first, before the access token is checked,
// like a load balancer in front of FCM.
func (s *Server) FailAll(b Behavior) { s.faults.global.Store(newFault(b)) }

// RecoverAll removes the behaviour FailAll installed.
func (s *Server) RecoverAll() { s.faults.global.Store(nil) }

// FailTokenEndpoint makes the token endpoint behave as b until
// RecoverTokenEndpoint, or for b.Times requests. Code, if set, is the
// OAuth error code of a 4xx ("invalid_grant" when empty).
func (s *Server) FailTokenEndpoint(b Behavior) { s.faults.token.Store(newFault(b)) }

// RecoverTokenEndpoint removes the behaviour FailTokenEndpoint installed.
func (s *Server) RecoverTokenEndpoint() { s.faults.token.Store(nil) }

func (f *faults) pickGlobal() *Behavior {
	if g := f.global.Load(); g != nil && g.take() {
		return &g.b
	}
	return nil
}

func (f *faults) pickToken() *Behavior {
	if g := f.token.Load(); g != nil && g.take() {
		return &g.b
	}
	return nil
}

func (f *faults) pickDevice(deviceToken string) *Behavior {
	if f.nPerToken.Load() == 0 {
		return nil
	}
	if v, ok := f.perToken.Load(deviceToken); ok {
		if ft := v.(*fault); ft.take() {
			return &ft.b
		}
	}
	return nil
}

// wait applies b's Delay and Gate; false means the request or the Server
// ended first.
func (s *Server) wait(r *http.Request, b *Behavior) bool {
	if b.Delay > 0 {
		t := time.NewTimer(b.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		case <-s.done:
			return false
		}
	}
	if b.Gate != nil {
		select {
		case <-b.Gate:
		case <-r.Context().Done():
			return false
		case <-s.done:
			return false
		}
	}
	return true
}

// inject applies b to a send and reports whether it answered.
func (s *Server) inject(w http.ResponseWriter, r *http.Request, b *Behavior) bool {
	if !s.wait(r, b) {
		s.injected.Add(1)
		s.fcmError(w, http.StatusServiceUnavailable, "", "request ended while held")
		return true
	}
	if b.Status < 400 {
		return false
	}
	s.injected.Add(1)
	setRetryAfter(w, b.RetryAfter)
	if b.Bare {
		w.WriteHeader(b.Status)
		return true
	}
	s.fcmError(w, b.Status, b.Code, "injected failure")
	return true
}

// injectToken applies b to a token request and reports whether it answered.
func (s *Server) injectToken(w http.ResponseWriter, r *http.Request, b *Behavior) bool {
	if !s.wait(r, b) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	if b.Status < 400 {
		return false
	}
	setRetryAfter(w, b.RetryAfter)
	if b.Bare || b.Status >= 500 {
		w.WriteHeader(b.Status)
		return true
	}
	code := b.Code
	if code == "" {
		code = "invalid_grant"
	}
	s.refuseToken(w, b.Status, code, "injected failure")
	return true
}

func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
}
