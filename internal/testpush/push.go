package testpush

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
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

// handlePush is POST /wpush/{id} on net/http's servers (HTTP/1.1, and
// HTTP/2 with Options.StdHTTP2): the transport around the push core.
func (s *Server) handlePush(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	b := s.beginPush(id)
	if b != nil && b.Delay > 0 {
		if a, done := s.delayPush(r.Context(), b); done {
			a.writeHTTP(w, s.base)
			return
		}
	}
	q := pushReq{id: id, fields: headerFields(r.Header)}
	if b == nil || b.Status < 400 {
		q.body, q.bodyRs, q.bodyErr = readBody(r)
	}
	a := s.push(&q, b)
	a.writeHTTP(w, s.base)
}

// parsePushHeaders checks TTL, Urgency and Topic (RFC 8030 section 5).
func parsePushHeaders(f *pushFields) (pushHeaders, reason, error) {
	var h pushHeaders
	if f.ttl.n == 0 {
		return h, reasonNoTTL, errors.New("missing TTL header (RFC 8030 section 5.2)")
	}
	n, err := strconv.Atoi(strings.TrimSpace(f.ttl.first))
	if err != nil || n < 0 || f.ttl.n > 1 {
		return h, reasonBadTTL, fmt.Errorf("TTL %q is not one non-negative integer", f.ttl.joined)
	}
	h.ttl = min(n, MaxTTL)
	if f.urgency.n > 0 {
		h.urgency = f.urgency.joined
		switch h.urgency {
		case "very-low", "low", "normal", "high":
		default:
			return h, reasonBadUrgency, fmt.Errorf("urgency %q is not very-low, low, normal or high", h.urgency)
		}
	}
	if f.topic.n > 0 {
		h.topic = f.topic.joined
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

// readBody reads at most MaxBody+1 bytes of a net/http request's body; a
// body over MaxBody is refused with 413.
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
	return body, 0, nil
}

// checkBody checks a non-empty body's content coding and aes128gcm
// framing. An empty body is a push without payload, which RFC 8030
// allows.
func checkBody(body []byte, contentEncoding string) (reason, error) {
	if len(body) == 0 {
		return 0, nil
	}
	if !strings.EqualFold(strings.TrimSpace(contentEncoding), "aes128gcm") {
		return reasonBadEncoding, fmt.Errorf("Content-Encoding %q, want aes128gcm (RFC 8291)", contentEncoding)
	}
	if err := checkFraming(body); err != nil {
		return reasonBadBody, err
	}
	return 0, nil
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
