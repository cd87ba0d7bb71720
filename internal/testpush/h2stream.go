package testpush

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2stream is one request on the lean server. Until it is dispatched it
// belongs to the serve goroutine; after, its answer state is under the
// connection's wmu.
type h2stream struct {
	id uint32

	// The request, as it arrives.
	method, path, scheme, authority string
	classified                      bool
	pushID                          string      // the {id} of a push handled inline, or ""
	fields                          pushFields  // a push's fields
	header                          http.Header // any other request's fields
	contentLength                   int64       // -1 when not given
	received                        int64       // body bytes received
	body                            []byte      // at most the limit, see tooLarge
	tooLarge                        bool        // the body passed MaxBody (or h2MaxOtherBody)
	ended                           bool        // the client ended the stream
	truncated                       bool        // the header list passed h2MaxHeaderList
	recvWin, recvUnacked            int64
	sendDelta                       int64 // WINDOW_UPDATEs before the answer began

	// The answer, under wmu once dispatched.
	sendWin int64
	started bool   // the answer began: sendWin is live
	out     []byte // answer body not yet sent
	queued  bool   // in h2conn.blocked
	reset   bool   // the client reset it: write nothing more
	cancel  context.CancelFunc
}

// headerBlock is the header block being decoded: whose, and what was
// found wrong with it so far.
type headerBlock struct {
	st         *h2stream // nil: decode for the HPACK state only
	trailers   bool
	endStream  bool
	sawRegular bool
	size       int // RFC 9113 header list size so far
	wire       int // encoded bytes so far
	invalid    error
}

// onHeaders starts a header block: a new stream, or trailers.
func (c *h2conn) onHeaders(f *http2.HeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return connError(http2.ErrCodeProtocol) // clients use odd ids
	}
	c.blk = headerBlock{endStream: f.StreamEnded()}
	switch st := c.streams[id]; {
	case st != nil:
		c.blk.st, c.blk.trailers = st, true
	case id <= c.seenID:
		return connError(http2.ErrCodeProtocol) // a stream that is closed
	default:
		c.seenID = id
		c.blk.st = c.newStream(id)
	}
	return c.headerFragment(f.HeaderBlockFragment(), f.HeadersEnded())
}

// headerFragment decodes one HEADERS or CONTINUATION fragment (the
// Framer guarantees they come in order, uninterrupted).
func (c *h2conn) headerFragment(frag []byte, end bool) error {
	c.blk.wire += len(frag)
	if c.blk.wire > 2*h2MaxHeaderList {
		return connError(http2.ErrCodeEnhanceYourCalm) // a CONTINUATION flood
	}
	if _, err := c.hdec.Write(frag); err != nil {
		return connError(http2.ErrCodeCompression)
	}
	if !end {
		return nil
	}
	if err := c.hdec.Close(); err != nil {
		return connError(http2.ErrCodeCompression)
	}
	return c.endHeaders()
}

// emit receives each decoded header field (the hpack.Decoder's emit
// function). It checks the field as RFC 9113 section 8.2 says and files
// it on the stream.
func (c *h2conn) emit(hf hpack.HeaderField) {
	b := &c.blk
	if b.invalid != nil || b.st == nil || b.st.truncated {
		return
	}
	if b.size += len(hf.Name) + len(hf.Value) + 32; b.size > h2MaxHeaderList {
		b.st.truncated = true
		return
	}
	if !httpguts.ValidHeaderFieldValue(hf.Value) {
		b.invalid = fmt.Errorf("invalid value of header field %q", hf.Name)
		return
	}
	st := b.st
	if strings.HasPrefix(hf.Name, ":") {
		if b.sawRegular || b.trailers {
			b.invalid = fmt.Errorf("pseudo-header field %q after regular fields or in trailers", hf.Name)
			return
		}
		b.invalid = st.setPseudo(hf.Name, hf.Value)
		return
	}
	b.sawRegular = true
	if !validFieldName(hf.Name) {
		b.invalid = fmt.Errorf("invalid header field name %q", hf.Name)
		return
	}
	if !b.trailers {
		b.invalid = st.addField(hf.Name, hf.Value)
	}
}

// validFieldName: a token, in lower case (RFC 9113 section 8.2.1).
func validFieldName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return httpguts.ValidHeaderFieldName(name)
}

func (st *h2stream) setPseudo(name, value string) error {
	var p *string
	switch name {
	case ":method":
		p = &st.method
	case ":path":
		p = &st.path
	case ":scheme":
		p = &st.scheme
	case ":authority":
		p = &st.authority
	default:
		return fmt.Errorf("pseudo-header field %q is not supported", name)
	}
	if *p != "" || value == "" {
		return fmt.Errorf("pseudo-header field %s repeated or empty", name)
	}
	*p = value
	return nil
}

// classify decides, once the pseudo-header fields are known, whether the
// request is a push handled inline.
func (st *h2stream) classify() {
	if st.classified {
		return
	}
	st.classified = true
	if st.method == http.MethodPost {
		if id, ok := pushPathID(st.path); ok {
			st.pushID = id
			return
		}
	}
	st.header = make(http.Header)
}

// pushPathID returns the id of a plain /wpush/{id} path. Anything less
// plain (a query, escapes, dots, more segments) goes to the ServeMux,
// which then routes it exactly as it would over HTTP/1.1.
func pushPathID(p string) (string, bool) {
	id, ok := strings.CutPrefix(p, "/wpush/")
	if !ok || id == "" {
		return "", false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return "", false
		}
	}
	return id, true
}

// addField files a regular field of a request's header block.
func (st *h2stream) addField(name, value string) error {
	st.classify()
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return fmt.Errorf("connection-specific header field %q", name)
	case "te":
		if value != "trailers" {
			return errors.New(`te other than "trailers"`)
		}
	case "content-length":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 || (st.contentLength >= 0 && st.contentLength != n) {
			return fmt.Errorf("content-length %q", value)
		}
		st.contentLength = n
	}
	if st.header != nil {
		st.header.Add(http.CanonicalHeaderKey(name), value)
		return nil
	}
	switch name {
	case "ttl":
		st.fields.ttl.add(value)
	case "urgency":
		st.fields.urgency.add(value)
	case "topic":
		st.fields.topic.add(value)
	case "authorization":
		st.fields.authorization.add(value)
	case "content-encoding":
		st.fields.contentEncoding.add(value)
	}
	return nil
}

// endHeaders acts on a complete header block.
func (c *h2conn) endHeaders() error {
	b := c.blk
	c.blk = headerBlock{}
	st := b.st
	if b.trailers {
		if b.invalid != nil || !b.endStream {
			return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol, Cause: b.invalid}
		}
		return c.endBody(st)
	}
	if b.invalid == nil && (st.method == "" || st.path == "" || st.scheme == "") {
		b.invalid = errors.New("missing :method, :path or :scheme")
	}
	if b.invalid != nil {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol, Cause: b.invalid}
	}
	st.classify()
	c.wmu.Lock()
	switch {
	case c.goingAway:
		// After GOAWAY new streams are not processed; the client retries
		// them on another connection.
		c.wmu.Unlock()
		return nil
	case c.inflight >= h2MaxStreams:
		err := c.writeErr(c.fr.WriteRSTStream(st.id, http2.ErrCodeRefusedStream))
		c.wmu.Unlock()
		return err
	}
	c.inflight++
	c.lastID = st.id
	c.wmu.Unlock()
	c.streams[st.id] = st
	switch {
	case b.endStream:
		return c.endBody(st)
	case st.truncated || st.pushID != "" && st.contentLength > MaxBody:
		c.dispatch(st) // answer now: 431, or 413 once the headers pass
	}
	return nil
}

// onData takes a DATA frame: flow control, then the body.
func (c *h2conn) onData(f *http2.DataFrame) error {
	n := int64(f.Length) // padding included: it counts against windows
	if n > c.recvWin {
		return connError(http2.ErrCodeFlowControl)
	}
	c.recvWin -= n
	if c.recvUnacked += n; c.recvUnacked >= h2ConnWindow/4 {
		if err := c.windowUpdate(0, c.recvUnacked); err != nil {
			return err
		}
		c.recvWin += c.recvUnacked
		c.recvUnacked = 0
	}
	id := f.StreamID
	st := c.streams[id]
	if st == nil {
		if id > c.seenID {
			return connError(http2.ErrCodeProtocol) // an idle stream
		}
		return nil // answered or reset already: dropped
	}
	if n > st.recvWin {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	st.recvWin -= n
	data := f.Data()
	st.received += int64(len(data))
	if st.contentLength >= 0 && st.received > st.contentLength {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol, Cause: errors.New("body longer than content-length")}
	}
	if !st.tooLarge {
		limit := MaxBody
		if st.pushID == "" {
			limit = h2MaxOtherBody
		}
		if len(st.body)+len(data) > limit {
			st.tooLarge = true
		} else {
			if st.body == nil {
				st.body = c.bodyBuf()
			}
			st.body = append(st.body, data...)
		}
	}
	switch {
	case f.StreamEnded():
		return c.endBody(st)
	case st.tooLarge:
		c.dispatch(st) // answer now, without the rest
		return nil
	}
	if st.recvUnacked += n; st.recvUnacked >= h2StreamWindow/2 {
		if err := c.windowUpdate(id, st.recvUnacked); err != nil {
			return err
		}
		st.recvWin += st.recvUnacked
		st.recvUnacked = 0
	}
	return nil
}

func (c *h2conn) windowUpdate(id uint32, n int64) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeErr(c.fr.WriteWindowUpdate(id, uint32(n)))
}

// endBody is the end of the client's side of a stream.
func (c *h2conn) endBody(st *h2stream) error {
	if st.contentLength >= 0 && st.received != st.contentLength {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol, Cause: errors.New("body shorter than content-length")}
	}
	st.ended = true
	c.dispatch(st)
	return nil
}

// dispatch hands a stream whose request is complete (or needs no more)
// to what answers it; the serve goroutine is done with it after this.
func (c *h2conn) dispatch(st *h2stream) {
	delete(c.streams, st.id)
	switch {
	case st.truncated:
		c.answerStatus(st, http.StatusRequestHeaderFieldsTooLarge)
	case st.pushID != "":
		c.dispatchPush(st)
	default:
		c.dispatchOther(st)
	}
}

// dispatchPush runs the push core inline, or on a goroutine when an
// injected delay would hold up the connection.
func (c *h2conn) dispatchPush(st *h2stream) {
	s := c.s
	b := s.beginPush(st.pushID)
	if b != nil && b.Delay > 0 {
		c.answerAsync(st, func(ctx context.Context) {
			a, done := s.delayPush(ctx, b)
			if !done {
				q := st.pushReq()
				a = s.push(&q, b)
			}
			c.answerPush(st, &a, true)
		})
		return
	}
	q := st.pushReq()
	a := s.push(&q, b)
	c.answerPush(st, &a, false)
	c.release(st) // the core keeps no reference to the body
	if !st.queued {
		// Answered in full: nothing refers to the stream any more.
		c.freeStream(st)
	}
}

// newStream returns a fresh stream, reused from answered pushes when
// there is one.
func (c *h2conn) newStream(id uint32) *h2stream {
	var st *h2stream
	if n := len(c.freeStreams); n > 0 {
		st = c.freeStreams[n-1]
		c.freeStreams = c.freeStreams[:n-1]
	} else {
		st = new(h2stream)
	}
	st.id, st.contentLength, st.recvWin = id, -1, h2StreamWindow
	return st
}

// freeStream keeps a stream nothing refers to any more for newStream.
func (c *h2conn) freeStream(st *h2stream) {
	if len(c.freeStreams) < h2FreeBodies {
		*st = h2stream{}
		c.freeStreams = append(c.freeStreams, st)
	}
}

// pushReq is the stream's request for the push core.
func (st *h2stream) pushReq() pushReq {
	q := pushReq{id: st.pushID, fields: st.fields, body: st.body}
	switch {
	case st.contentLength > MaxBody:
		q.bodyRs, q.bodyErr = reasonTooLarge, fmt.Errorf("body is %d bytes, over %d", st.contentLength, MaxBody)
	case st.tooLarge:
		q.bodyRs, q.bodyErr = reasonTooLarge, fmt.Errorf("body is over %d bytes", MaxBody)
	}
	return q
}

// bodyBuf returns a buffer for a request body, reused from answered
// pushes when there is one.
func (c *h2conn) bodyBuf() []byte {
	if n := len(c.freeBodies); n > 0 {
		b := c.freeBodies[n-1]
		c.freeBodies = c.freeBodies[:n-1]
		return b
	}
	return make([]byte, 0, 512)
}

// release recycles the body buffer of a stream the serve goroutine is
// done with: answered inline, or reset before it was answered.
func (c *h2conn) release(st *h2stream) {
	if st.body != nil && cap(st.body) <= 2*MaxBody && len(c.freeBodies) < h2FreeBodies {
		c.freeBodies = append(c.freeBodies, st.body[:0])
	}
	st.body = nil
}
