package testpush

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldpush/herald/internal/webpush"
)

const (
	// aes128gcm header (RFC 8188 section 2.1): salt, rs, idlen, then the
	// keyid, which Web Push fills with the sender's public key.
	saltLen      = 16
	fixedHdrLen  = saltLen + 4 + 1
	webPushIDLen = 65
	// minRecordSize is the smallest rs RFC 8188 allows; tagLen the GCM tag.
	minRecordSize = 18
	tagLen        = 16
	// maxTopicLen is RFC 8030 section 5.4's limit.
	maxTopicLen = 32
	// MaxTTL is the longest TTL kept, in seconds: 60 days, autopush's
	// limit. A longer TTL is accepted and reduced, and the reduced value is
	// answered in the TTL response header, as RFC 8030 section 5.2 allows.
	MaxTTL = 60 * 24 * 60 * 60
)

// pushHeaders are the RFC 8030 request headers that were checked.
type pushHeaders struct {
	ttl     int
	urgency string
	topic   string
}

// handlePush is POST /wpush/{id}: the RFC 8030 push endpoint.
func (s *Server) handlePush(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	id := r.PathValue("id")
	if b := s.pickFault(id); b != nil && s.inject(w, r, b) {
		return
	}
	e, recv := s.subs.lookup(id)
	if e == nil {
		s.reject(w, reasonNotFound, 0, fmt.Errorf("no subscription %q", id))
		return
	}
	if e.gone.Load() {
		s.reject(w, reasonGone, 0, fmt.Errorf("subscription %q was removed", id))
		return
	}
	h, rs, err := parsePushHeaders(r.Header)
	if err != nil {
		s.reject(w, rs, 0, err)
		return
	}
	if rs, err := s.verifyVAPID(r.Header.Get("Authorization"), recv.appKey); err != nil {
		s.reject(w, rs, 0, err)
		return
	}
	body, rs, err := readBody(r)
	if err != nil {
		s.reject(w, rs, 0, err)
		return
	}
	msg := Message{
		Subscription: id,
		Body:         body,
		TTL:          h.ttl,
		Urgency:      h.urgency,
		Topic:        h.topic,
		Received:     s.now(),
	}
	if len(body) > 0 && recv.priv != nil && s.shouldDecrypt() {
		pt, err := webpush.Decrypt(body, recv.priv, recv.auth)
		if err != nil {
			s.reject(w, reasonDecrypt, 0, fmt.Errorf("decrypt payload: %w", err))
			return
		}
		msg.Payload, msg.Decrypted = pt, true
		s.decrypted.Add(1)
	}
	msg.ID = id + "-" + strconv.FormatUint(s.msgSeq.Add(1), 10)
	if recv.channel != nil {
		if err := s.forward(recv.channel, msg); err != nil {
			s.reject(w, reasonQueueFull, 0, err)
			return
		}
	}
	e.count.Add(1)
	if s.o.Record {
		e.record(msg)
	}
	if s.o.OnAccept != nil {
		s.o.OnAccept(msg.Received)
	}
	s.accepted.Add(1)
	w.Header().Set("Location", s.base+"/m/"+msg.ID)
	w.Header().Set("TTL", strconv.Itoa(h.ttl))
	w.WriteHeader(http.StatusCreated)
}

// parsePushHeaders checks TTL, Urgency and Topic (RFC 8030 section 5).
func parsePushHeaders(hd http.Header) (pushHeaders, reason, error) {
	var h pushHeaders
	ttl := hd.Values("TTL")
	if len(ttl) == 0 {
		return h, reasonNoTTL, errors.New("missing TTL header (RFC 8030 section 5.2)")
	}
	n, err := strconv.Atoi(strings.TrimSpace(ttl[0]))
	if err != nil || n < 0 || len(ttl) > 1 {
		return h, reasonBadTTL, fmt.Errorf("TTL %q is not one non-negative integer", strings.Join(ttl, ","))
	}
	h.ttl = min(n, MaxTTL)
	if u, ok := hd["Urgency"]; ok {
		h.urgency = strings.Join(u, ",")
		switch h.urgency {
		case "very-low", "low", "normal", "high":
		default:
			return h, reasonBadUrgency, fmt.Errorf("urgency %q is not very-low, low, normal or high", h.urgency)
		}
	}
	if t, ok := hd["Topic"]; ok {
		h.topic = strings.Join(t, ",")
		if err := checkTopic(h.topic); err != nil {
			return h, reasonBadTopic, err
		}
	}
	return h, 0, nil
}

// checkTopic enforces RFC 8030 section 5.4: at most 32 characters from
// the base64url alphabet.
func checkTopic(t string) error {
	if t == "" || len(t) > maxTopicLen {
		return fmt.Errorf("topic is %d characters, want 1 to %d", len(t), maxTopicLen)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("topic %q has %q, outside the base64url alphabet", t, c)
		}
	}
	return nil
}

// readBody reads at most MaxBody bytes and, for a non-empty body, checks
// the content coding and the aes128gcm framing. An empty body is a push
// without payload, which RFC 8030 allows.
func readBody(r *http.Request) ([]byte, reason, error) {
	if r.ContentLength > MaxBody {
		return nil, reasonTooLarge, fmt.Errorf("body is %d bytes, over %d", r.ContentLength, MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, reasonBadBody, fmt.Errorf("read body: %w", err)
	}
	if len(body) > MaxBody {
		return nil, reasonTooLarge, fmt.Errorf("body is over %d bytes", MaxBody)
	}
	if len(body) == 0 {
		return body, 0, nil
	}
	if ce := r.Header.Get("Content-Encoding"); !strings.EqualFold(strings.TrimSpace(ce), "aes128gcm") {
		return nil, reasonBadEncoding, fmt.Errorf("Content-Encoding %q, want aes128gcm (RFC 8291)", ce)
	}
	if err := checkFraming(body); err != nil {
		return nil, reasonBadBody, err
	}
	return body, 0, nil
}

// checkFraming checks what can be checked without the receiver's private
// key: the header of RFC 8188 with a 65-byte keyid holding the sender's
// uncompressed point (RFC 8291 section 4), and exactly one record.
func checkFraming(b []byte) error {
	if len(b) < fixedHdrLen {
		return fmt.Errorf("body of %d bytes is shorter than the aes128gcm header", len(b))
	}
	rs := binary.BigEndian.Uint32(b[saltLen : saltLen+4])
	if rs < minRecordSize {
		return fmt.Errorf("record size %d is under %d", rs, minRecordSize)
	}
	if idlen := int(b[saltLen+4]); idlen != webPushIDLen {
		return fmt.Errorf("keyid is %d bytes, want the sender's %d-byte public key", idlen, webPushIDLen)
	}
	if len(b) < fixedHdrLen+webPushIDLen+tagLen+1 {
		return fmt.Errorf("body of %d bytes holds no record", len(b))
	}
	if b[fixedHdrLen] != 4 {
		return errors.New("keyid is not an uncompressed P-256 point")
	}
	if rec := len(b) - fixedHdrLen - webPushIDLen; uint64(rec) > uint64(rs) {
		return fmt.Errorf("ciphertext of %d bytes exceeds record size %d: Web Push allows one record", rec, rs)
	}
	return nil
}

// shouldDecrypt says whether this push's payload is decrypted: always
// under VerifyAll, the first of every SampleEvery under VerifySample.
func (s *Server) shouldDecrypt() bool {
	if s.o.Verify != VerifySample {
		return true
	}
	return (s.sampleSeq.Add(1)-1)%uint64(s.o.SampleEvery) == 0
}
