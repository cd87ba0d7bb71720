package testpush

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/heraldpush/herald/internal/webpush"
)

// The push core: everything POST /wpush/{id} checks, counts and answers,
// apart from how the request arrived. net/http's handler (handlePush) and
// the lean HTTP/2 server (h2conn) both call it, so both apply the same
// checks, counters, failure injection and decryption sampling:
//
//	b := s.beginPush(id)            // count the request, pick a fault
//	if b != nil && b.Delay > 0 {    // a slow answer: off the hot path
//		a, done := s.delayPush(ctx, b)
//	}
//	a := s.push(&pushReq{...}, b)   // everything else
//
// The answer is a pushAnswer, which each transport renders its own way.

// fieldValues is one request header field as the core reads it: the
// first value, all of them joined with "," (as strings.Join of
// http.Header.Values), and how many there were.
type fieldValues struct {
	first, joined string
	n             int
}

func (v *fieldValues) add(s string) {
	if v.n == 0 {
		v.first, v.joined = s, s
	} else {
		v.joined += "," + s
	}
	v.n++
}

// pushFields are the request header fields the push core reads.
type pushFields struct {
	ttl, urgency, topic            fieldValues
	authorization, contentEncoding fieldValues
}

// headerFields picks the push core's fields out of a net/http header.
func headerFields(h http.Header) pushFields {
	var f pushFields
	for _, p := range []struct {
		name string
		v    *fieldValues
	}{
		{"TTL", &f.ttl}, {"Urgency", &f.urgency}, {"Topic", &f.topic},
		{"Authorization", &f.authorization}, {"Content-Encoding", &f.contentEncoding},
	} {
		for _, v := range h.Values(p.name) {
			p.v.add(v)
		}
	}
	return f
}

// pushReq is one push request as the core sees it.
type pushReq struct {
	id     string // the {id} of /wpush/{id}
	fields pushFields
	// body is the request body, at most MaxBody bytes. The core only
	// borrows it: whatever it keeps (Record, a browser's queue) is a copy,
	// so a transport may reuse the buffer once push returns.
	body []byte
	// bodyErr, when set, is why the body could not be taken (too large,
	// unreadable), refused under bodyRs once the headers have passed.
	bodyErr error
	bodyRs  reason
}

// pushAnswer is the core's answer to a push.
type pushAnswer struct {
	status int
	// For 201: the message id is id + "-" + seq, the Location answered
	// is base + "/m/" + that, and ttl is the TTL kept.
	id  string
	seq uint64
	ttl int
	// For refusals: Retry-After in whole seconds (0 for none) and the
	// JSON error body's code and message.
	retryAfter int64
	code       string
	message    string
}

// location is the Location header of a 201 answer.
func (a *pushAnswer) location(base string) string {
	return string(a.appendLocation(nil, base))
}

func (a *pushAnswer) appendLocation(dst []byte, base string) []byte {
	dst = append(dst, base...)
	dst = append(dst, "/m/"...)
	dst = append(dst, a.id...)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, a.seq, 10)
}

// errorJSON is the body of a refusal, byte for byte what json.Encoder
// writes for it (a trailing newline included).
func (a *pushAnswer) errorJSON() []byte {
	var b errorBody
	b.Error.Code, b.Error.Message = a.code, a.message
	out, err := json.Marshal(b)
	if err != nil { // two strings cannot fail to marshal
		panic(fmt.Sprintf("testpush: marshal error body: %v", err))
	}
	return append(out, '\n')
}

// writeHTTP renders the answer on a net/http ResponseWriter.
func (a *pushAnswer) writeHTTP(w http.ResponseWriter, base string) {
	h := w.Header()
	if a.status == http.StatusCreated {
		h.Set("Location", a.location(base))
		h.Set("TTL", strconv.Itoa(a.ttl))
		w.WriteHeader(http.StatusCreated)
		return
	}
	if a.retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(a.retryAfter, 10))
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = w.Write(a.errorJSON()) // the client went away; nothing to tell it
}

// beginPush counts a push request and returns the injected behaviour that
// applies to it, or nil. Every push calls it first, before the body is
// looked at: injected failures come before everything, like a load
// balancer in front of a real service.
func (s *Server) beginPush(id string) *Behavior {
	s.requests.Add(1)
	return s.pickFault(id)
}

// delayPush holds a push back for b.Delay. It reports done, with the
// answer to send, when the wait ended the request: the sender gave up
// (ctx) or the server closed.
func (s *Server) delayPush(ctx context.Context, b *Behavior) (pushAnswer, bool) {
	t := time.NewTimer(b.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return pushAnswer{}, false
	case <-ctx.Done():
		return s.refuse(reasonInjected, http.StatusServiceUnavailable, fmt.Errorf("request ended during injected delay: %w", ctx.Err())), true
	case <-s.done:
		return s.refuse(reasonInjected, http.StatusServiceUnavailable, errors.New("server closed during injected delay")), true
	}
}

// push checks, decrypts (per VerifyMode), counts and accepts or refuses
// one push. b is beginPush's behaviour, after any delay.
func (s *Server) push(q *pushReq, b *Behavior) pushAnswer {
	if b != nil && b.Status >= 400 {
		a := s.refuse(reasonInjected, b.Status, fmt.Errorf("injected failure: %d %s", b.Status, http.StatusText(b.Status)))
		if b.RetryAfter > 0 {
			a.retryAfter = int64((b.RetryAfter + time.Second - 1) / time.Second)
		}
		return a
	}
	e, recv := s.subs.lookup(q.id)
	if e == nil {
		return s.refuse(reasonNotFound, 0, fmt.Errorf("no subscription %q", q.id))
	}
	if e.gone.Load() {
		return s.refuse(reasonGone, 0, fmt.Errorf("subscription %q was removed", q.id))
	}
	h, rs, err := parsePushHeaders(&q.fields)
	if err != nil {
		return s.refuse(rs, 0, err)
	}
	if rs, err := s.verifyVAPID(q.fields.authorization.first, recv.appKey); err != nil {
		return s.refuse(rs, 0, err)
	}
	if q.bodyErr != nil {
		return s.refuse(q.bodyRs, 0, q.bodyErr)
	}
	if rs, err := checkBody(q.body, q.fields.contentEncoding.first); err != nil {
		return s.refuse(rs, 0, err)
	}
	now := s.now()
	var payload []byte
	decrypted := false
	if len(q.body) > 0 && recv.priv != nil && s.shouldDecrypt() {
		pt, err := webpush.Decrypt(q.body, recv.priv, recv.auth)
		if err != nil {
			return s.refuse(reasonDecrypt, 0, fmt.Errorf("decrypt payload: %w", err))
		}
		payload, decrypted = pt, true
		s.decrypted.Add(1)
	}
	a := pushAnswer{status: http.StatusCreated, id: q.id, seq: s.msgSeq.Add(1), ttl: h.ttl}
	if recv.channel != nil || s.o.Record {
		msg := Message{
			ID:           q.id + "-" + strconv.FormatUint(a.seq, 10),
			Subscription: q.id,
			Payload:      payload,
			Decrypted:    decrypted,
			Body:         slices.Clone(q.body),
			TTL:          h.ttl,
			Urgency:      h.urgency,
			Topic:        h.topic,
			Received:     now,
		}
		if msg.Body == nil {
			msg.Body = []byte{}
		}
		if recv.channel != nil {
			if err := s.forward(recv.channel, msg); err != nil {
				return s.refuse(reasonQueueFull, 0, err)
			}
		}
		if s.o.Record {
			e.record(msg)
		}
	}
	e.count.Add(1)
	if s.o.OnAccept != nil {
		s.o.OnAccept(now)
	}
	s.accepted.Add(1)
	return a
}

// refuse counts a refused push under rs and returns its answer. status 0
// means the reason's own status. The message goes to the sender: a test
// push service should say exactly what was wrong.
func (s *Server) refuse(rs reason, status int, err error) pushAnswer {
	s.rejected[rs].Add(1)
	if status == 0 {
		status = reasons[rs].status
	}
	a := pushAnswer{status: status, code: reasons[rs].code, message: err.Error()}
	s.log.Debug("push refused", slog.String("code", a.code), slog.Int("status", status), slog.Any("err", err))
	return a
}
