package testpush

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"golang.org/x/net/http2"
)

// Answers of the lean server. Header blocks are written by hand as HPACK
// literals "without indexing" (RFC 7541 section 6.2.2), naming fields by
// their static-table index where there is one: the client's dynamic
// table is never touched, so no encoder state is kept, blocks need no
// table size updates, and the fixed part of the common 201 answer is a
// constant (hpack201) to which only the Location and the TTL digits are
// appended. No Huffman coding: on loopback, bytes are cheaper than CPU
// on either side.

// Static-table indexes (RFC 7541 appendix A).
const (
	hpStatus        = 8
	hpContentLength = 28
	hpContentType   = 31
	hpLocation      = 46
	hpRetryAfter    = 53
)

// hpack201 is ":status: 201" as a literal with indexed name; 201 is not
// in the static table.
const hpack201 = "\x08\x03201"

// appendHpackInt appends v as an HPACK integer with an n-bit prefix;
// first holds the bits above the prefix (RFC 7541 section 5.1).
func appendHpackInt(dst []byte, first byte, n uint, v uint64) []byte {
	limit := uint64(1)<<n - 1
	if v < limit {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(limit))
	for v -= limit; v >= 128; v >>= 7 {
		dst = append(dst, byte(v)|0x80)
	}
	return append(dst, byte(v))
}

// appendLiteral appends a field whose name is static-table entry idx.
func appendLiteral(dst []byte, idx uint64, value string) []byte {
	dst = appendHpackInt(dst, 0, 4, idx)
	dst = appendHpackInt(dst, 0, 7, uint64(len(value)))
	return append(dst, value...)
}

// appendLiteralName appends a field with a literal name.
func appendLiteralName(dst []byte, name, value string) []byte {
	dst = append(dst, 0)
	dst = appendHpackInt(dst, 0, 7, uint64(len(name)))
	dst = append(dst, name...)
	dst = appendHpackInt(dst, 0, 7, uint64(len(value)))
	return append(dst, value...)
}

// appendStatus appends :status, indexed when the static table has it.
func appendStatus(dst []byte, code int) []byte {
	switch code {
	case 200:
		return append(dst, 0x80|8)
	case 204:
		return append(dst, 0x80|9)
	case 206:
		return append(dst, 0x80|10)
	case 304:
		return append(dst, 0x80|11)
	case 400:
		return append(dst, 0x80|12)
	case 404:
		return append(dst, 0x80|13)
	case 500:
		return append(dst, 0x80|14)
	}
	return appendLiteral(dst, hpStatus, strconv.Itoa(code))
}

// answerPush writes the push core's answer. Only the serve goroutine may
// leave it unflushed (flush false): it flushes once no frame is buffered.
func (c *h2conn) answerPush(st *h2stream, a *pushAnswer, flush bool) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed || st.reset {
		return
	}
	blk := c.hbuf[:0]
	var body []byte
	if a.status == http.StatusCreated {
		blk = append(blk, hpack201...)
		loc := a.appendLocation(c.vbuf[:0], c.s.base)
		c.vbuf = loc
		blk = appendHpackInt(blk, 0, 4, hpLocation)
		blk = appendHpackInt(blk, 0, 7, uint64(len(loc)))
		blk = append(blk, loc...)
		blk = append(blk, 0, 3, 't', 't', 'l')
		var num [20]byte
		ttl := strconv.AppendInt(num[:0], int64(a.ttl), 10)
		blk = appendHpackInt(blk, 0, 7, uint64(len(ttl)))
		blk = append(blk, ttl...)
	} else {
		body = a.errorJSON()
		blk = appendStatus(blk, a.status)
		blk = appendLiteral(blk, hpContentType, "application/json")
		blk = appendLiteral(blk, hpContentLength, strconv.Itoa(len(body)))
		if a.retryAfter > 0 {
			blk = appendLiteral(blk, hpRetryAfter, strconv.FormatInt(a.retryAfter, 10))
		}
	}
	c.hbuf = blk
	c.answerLocked(st, blk, body)
	if flush {
		c.flushLocked()
	}
}

// answerStatus answers with a bare status, from the serve goroutine.
func (c *h2conn) answerStatus(st *h2stream, code int) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return
	}
	blk := appendStatus(c.hbuf[:0], code)
	blk = appendLiteral(blk, hpContentLength, "0")
	c.hbuf = blk
	c.answerLocked(st, blk, nil)
}

// answerAsync runs answer on a goroutine of its own, with a context that
// ends when the client resets the stream or the connection ends.
func (c *h2conn) answerAsync(st *h2stream, answer func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(c.ctx)
	c.wmu.Lock()
	st.cancel = cancel
	c.answering[st.id] = st
	c.wmu.Unlock()
	go func() {
		defer cancel()
		defer func() {
			// As net/http does for a handler: a panic costs the stream,
			// not the process.
			if v := recover(); v != nil {
				c.s.log.Error("http2 handler panicked", slog.Any("panic", v))
				c.wmu.Lock()
				defer c.wmu.Unlock()
				if !c.closed && !st.reset && !st.started {
					_ = c.fr.WriteRSTStream(st.id, http2.ErrCodeInternal)
					delete(c.answering, st.id)
					c.doneLocked()
					c.flushLocked()
				}
			}
		}()
		answer(ctx)
	}()
}

// answerLocked writes an answer's header block and as much of its body
// as the flow-control windows allow; the rest waits in c.blocked.
func (c *h2conn) answerLocked(st *h2stream, blk, body []byte) {
	c.writeHeadersLocked(st.id, blk, len(body) == 0)
	if len(body) == 0 {
		c.finishLocked(st)
		return
	}
	st.out = body
	st.sendWin = c.peerInitWin + st.sendDelta
	st.sendDelta = 0
	st.started = true
	if !c.sendLocked(st) {
		c.answering[st.id] = st
		st.queued = true
		c.blocked = append(c.blocked, st)
	}
}

// writeHeadersLocked writes a header block in HEADERS and, past the
// client's frame size, CONTINUATION frames.
func (c *h2conn) writeHeadersLocked(id uint32, blk []byte, endStream bool) {
	limit := int(c.peerMaxFrame)
	first, rest := blk, []byte(nil)
	if len(blk) > limit {
		first, rest = blk[:limit], blk[limit:]
	}
	// Errors are the connection's, kept by the buffer: the serve loop's
	// flush reports them.
	_ = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(rest) == 0})
	for len(rest) > 0 {
		n := min(limit, len(rest))
		_ = c.fr.WriteContinuation(id, n == len(rest), rest[:n])
		rest = rest[n:]
	}
}

// sendLocked sends what it can of st.out and reports whether all of it
// went (the stream is then finished).
func (c *h2conn) sendLocked(st *h2stream) bool {
	for len(st.out) > 0 {
		n := min(int64(len(st.out)), int64(c.peerMaxFrame), c.sendWin, st.sendWin)
		if n <= 0 {
			return false
		}
		_ = c.fr.WriteData(st.id, n == int64(len(st.out)), st.out[:n])
		st.out = st.out[n:]
		c.sendWin -= n
		st.sendWin -= n
	}
	c.finishLocked(st)
	return true
}

// resumeLocked sends blocked answers after the windows grew.
func (c *h2conn) resumeLocked() {
	keep := c.blocked[:0]
	for _, st := range c.blocked {
		if st.reset || c.sendLocked(st) {
			st.queued = false
			continue
		}
		keep = append(keep, st)
	}
	clear(c.blocked[len(keep):])
	c.blocked = keep
}

// finishLocked ends a fully answered stream. A stream answered before
// the client ended it (a body over the limit) is reset with NO_ERROR, so
// the client stops sending (RFC 9113 section 8.1).
func (c *h2conn) finishLocked(st *h2stream) {
	if !st.ended {
		_ = c.fr.WriteRSTStream(st.id, http2.ErrCodeNo)
	}
	delete(c.answering, st.id)
	c.doneLocked()
}

func (c *h2conn) flushLocked() {
	if !c.closed && c.bw.Buffered() > 0 {
		_ = c.bw.Flush() // a failed connection: the serve loop finds out
	}
}
