package h2client

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// stream is one request and, once answered, its response.
type stream struct {
	c    *conn
	id   uint32
	req  *http.Request
	done chan struct{} // closed when state becomes stateDone

	// The request, immutable once queued.
	method, authority, path string
	header                  http.Header
	body                    []byte
	sendLength              bool
	listSize                uint32 // the header list size (RFC 9113 6.5.2)

	// Guarded by c.mu.
	state       int
	sent        int // body bytes written
	sendWindow  int32
	recvWindow  int32
	recvUnacked int32
	gotHeaders  bool
	status      int
	fields      []hpack.HeaderField
	trailer     []hpack.HeaderField
	buf         []byte
	truncated   bool
	err         error
}

// newStream checks req and prepares what the writer encodes.
func newStream(req *http.Request, body []byte) (*stream, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if !httpguts.ValidHeaderFieldName(method) {
		return nil, errors.New("h2client: invalid method")
	}
	authority := req.Host
	if authority == "" {
		authority = req.URL.Host
	}
	s := &stream{req: req, done: make(chan struct{}), method: method, authority: authority,
		path: req.URL.RequestURI(), header: req.Header, body: body}
	s.sendLength = len(body) > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
	size := 32*4 + len(":method:scheme:authority:path") + len(method) + len("https") + len(authority) + len(s.path)
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return nil, fmt.Errorf("h2client: invalid header name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				// The value may be a secret: name only the header.
				return nil, fmt.Errorf("h2client: invalid value for header %q", k)
			}
			size += 32 + len(k) + len(v)
		}
	}
	s.listSize = uint32(min(size, 1<<31))
	return s, nil
}

// wireName is the lower-case HTTP/2 name of a header, "" for those HTTP/2
// does not carry (connection-specific ones, Host, Content-Length, which
// the client sets from the body). The common Web Push headers cost no
// allocation.
func wireName(k string, vv []string) string {
	switch k {
	case "Content-Type":
		return "content-type"
	case "Content-Encoding":
		return "content-encoding"
	case "Ttl":
		return "ttl"
	case "Urgency":
		return "urgency"
	case "Topic":
		return "topic"
	case "Authorization":
		return "authorization"
	case "User-Agent":
		return "user-agent"
	case "Host", "Content-Length", "Connection", "Proxy-Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade":
		return ""
	case "Te":
		if len(vv) == 1 && vv[0] == "trailers" {
			return "te"
		}
		return ""
	}
	for i := 0; i < len(k); i++ {
		if 'A' <= k[i] && k[i] <= 'Z' {
			return strings.ToLower(k)
		}
	}
	return k
}

// writeLoop writes queued frames until the connection dies.
func (c *conn) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		// Let the goroutines that are ready run first: those about to
		// send a request queue it and it joins this round's single flush.
		// With nothing else ready this returns at once.
		runtime.Gosched()
		if err := c.writeRound(); err != nil {
			c.fail(fmt.Errorf("h2client: write to %s: %w", c.t.host, err))
			return
		}
	}
}

// writeRound writes everything queued — control frames first, then each
// new request's HEADERS and DATA, then bodies that were waiting for a
// window — and flushes once at the end. What is queued meanwhile has
// signalled c.wake and goes in the next round.
func (c *conn) writeRound() error {
	c.mu.Lock()
	ctrl, queue := c.ctrl, c.queue
	c.ctrl, c.queue = c.spareCtrl[:0], c.spareQueue[:0]
	var blocked []*stream
	if c.windowGrew {
		blocked, c.blocked, c.windowGrew = c.blocked, nil, false
	}
	open := queue[:0]
	for _, s := range queue {
		if s.state == stateQueued {
			s.state = stateOpen
			open = append(open, s)
		}
	}
	maxFrame, maxList := c.maxFrameSize, c.peerMaxHeaderList
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.spareCtrl, c.spareQueue = ctrl[:0], clearQueue(queue)
		c.mu.Unlock()
	}()
	if len(ctrl) == 0 && len(open) == 0 && len(blocked) == 0 {
		return nil
	}
	c.refreshWriteDeadline()
	for _, f := range ctrl {
		if err := c.writeCtrl(f); err != nil {
			return err
		}
	}
	for _, s := range open {
		if maxList != 0 && s.listSize > maxList {
			c.mu.Lock()
			c.finishLocked(s, fmt.Errorf("h2client: request headers (%d bytes) over %s's limit of %d", s.listSize, c.t.host, maxList))
			c.mu.Unlock()
			c.afterFinish()
			continue
		}
		if err := c.writeHeaders(s, maxFrame); err != nil {
			return err
		}
		if len(s.body) > 0 {
			if err := c.writeBody(s, maxFrame); err != nil {
				return err
			}
		}
	}
	for _, s := range blocked {
		if err := c.writeBody(s, maxFrame); err != nil {
			return err
		}
	}
	return c.bw.Flush()
}

// refreshWriteDeadline keeps the connection's write deadline between
// WriteTimeout/2 and WriteTimeout ahead, resetting it only when it comes
// closer (setting it costs more than reading the clock).
func (c *conn) refreshWriteDeadline() {
	now := time.Now()
	if c.writeDeadline.Sub(now) < c.t.o.WriteTimeout/2 {
		c.writeDeadline = now.Add(c.t.o.WriteTimeout)
		c.nc.SetWriteDeadline(c.writeDeadline)
	}
}

func clearQueue(q []*stream) []*stream {
	clear(q[:cap(q)])
	return q[:0]
}

func (c *conn) writeCtrl(f ctrlFrame) error {
	switch f.kind {
	case ctrlSettingsAck:
		return c.fr.WriteSettingsAck()
	case ctrlPingAck:
		return c.fr.WritePing(true, f.data)
	case ctrlWindowUpdate:
		return c.fr.WriteWindowUpdate(f.streamID, f.n)
	case ctrlRST:
		return c.fr.WriteRSTStream(f.streamID, f.code)
	case ctrlPing:
		return c.fr.WritePing(false, [8]byte{'h', 'e', 'r', 'a', 'l', 'd'})
	case ctrlTableSize:
		c.henc.SetMaxDynamicTableSizeLimit(f.n)
	}
	return nil
}

// writeHeaders encodes s's header block and writes it as HEADERS and, if
// it exceeds a frame, CONTINUATION frames. What repeats between requests
// is indexed; :path and content-length, unique or nearly, are sent as
// never-indexed literals so they do not evict what repeats.
func (c *conn) writeHeaders(s *stream, maxFrame uint32) error {
	c.hbuf.Reset()
	e := c.henc
	e.WriteField(hpack.HeaderField{Name: ":method", Value: s.method})
	e.WriteField(hpack.HeaderField{Name: ":scheme", Value: "https"})
	e.WriteField(hpack.HeaderField{Name: ":authority", Value: s.authority})
	e.WriteField(hpack.HeaderField{Name: ":path", Value: s.path, Sensitive: true})
	for k, vv := range s.header {
		name := wireName(k, vv)
		if name == "" {
			continue
		}
		for _, v := range vv {
			e.WriteField(hpack.HeaderField{Name: name, Value: v})
		}
	}
	if s.sendLength {
		var num [20]byte
		e.WriteField(hpack.HeaderField{Name: "content-length", Value: string(strconv.AppendInt(num[:0], int64(len(s.body)), 10)), Sensitive: true})
	}
	block := c.hbuf.Bytes()
	first := true
	for first || len(block) > 0 {
		frag := block[:min(len(block), int(maxFrame))]
		block = block[len(frag):]
		var err error
		if first {
			err = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: frag,
				EndStream: len(s.body) == 0, EndHeaders: len(block) == 0})
			first = false
		} else {
			err = c.fr.WriteContinuation(s.id, len(block) == 0, frag)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// writeBody writes as much of s's body as the stream's and the
// connection's send windows allow; the rest waits in c.blocked for a
// WINDOW_UPDATE.
func (c *conn) writeBody(s *stream, maxFrame uint32) error {
	for {
		c.mu.Lock()
		if s.state != stateOpen || s.sent == len(s.body) {
			c.mu.Unlock()
			return nil
		}
		n := min(int32(len(s.body)-s.sent), s.sendWindow, c.sendWindow, int32(maxFrame))
		if n <= 0 {
			c.blocked = append(c.blocked, s)
			if c.windowGrew { // grew since this round took the blocked list
				c.wakeWriter()
			}
			c.mu.Unlock()
			return nil
		}
		chunk := s.body[s.sent : s.sent+int(n)]
		s.sent += int(n)
		s.sendWindow -= n
		c.sendWindow -= n
		end := s.sent == len(s.body)
		c.mu.Unlock()
		if err := c.fr.WriteData(s.id, end, chunk); err != nil {
			return err
		}
	}
}
