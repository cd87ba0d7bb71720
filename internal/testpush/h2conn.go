package testpush

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2conn is one connection of the lean HTTP/2 server. Its serve
// goroutine reads and handles every frame; fields marked "serve" are its
// own. Writes (frames into bw, flow control of answers, the streams being
// answered) are under wmu, which goroutines answering slow requests take
// too.
type h2conn struct {
	s      *Server
	nc     net.Conn
	tls    *tls.ConnectionState // nil for h2c
	br     *bufio.Reader
	fr     *http2.Framer
	hdec   *hpack.Decoder
	ctx    context.Context // ends with the connection
	cancel context.CancelFunc

	// serve: the streams whose request is still arriving, the highest
	// stream id the client used, the header block being decoded, and
	// the connection's receive window.
	streams     map[uint32]*h2stream
	seenID      uint32
	blk         headerBlock
	recvWin     int64
	recvUnacked int64
	sawSettings bool
	freeBodies  [][]byte
	freeStreams []*h2stream

	wmu sync.Mutex
	// Guarded by wmu.
	bw           *bufio.Writer
	sendWin      int64  // connection send window
	peerInitWin  int64  // the client's SETTINGS_INITIAL_WINDOW_SIZE
	peerMaxFrame uint32 // the client's SETTINGS_MAX_FRAME_SIZE
	answering    map[uint32]*h2stream
	blocked      []*h2stream // answers waiting for send window, oldest first
	inflight     int         // streams opened and not yet answered or reset
	lastID       uint32      // highest stream id taken for processing
	goingAway    bool
	closed       bool // nothing more is written
	ncClosed     bool
	hbuf, vbuf   []byte // header block and value scratch
}

func newH2Conn(s *Server, nc net.Conn, tlsState *tls.ConnectionState) *h2conn {
	c := &h2conn{
		s:            s,
		nc:           nc,
		tls:          tlsState,
		br:           bufio.NewReaderSize(nc, h2ReadBuf),
		streams:      make(map[uint32]*h2stream),
		recvWin:      h2ConnWindow,
		bw:           bufio.NewWriterSize(nc, h2WriteBuf),
		sendWin:      65535,
		peerInitWin:  65535,
		peerMaxFrame: 16384,
		answering:    make(map[uint32]*h2stream),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.SetReuseFrames()
	c.fr.SetMaxReadFrameSize(h2MaxFrame)
	c.hdec = hpack.NewDecoder(4096, c.emit)
	c.hdec.SetMaxStringLength(h2MaxHeaderList)
	return c
}

// serve runs the connection: preface, settings, then frames until the
// client goes away, a connection error, or Close.
func (c *h2conn) serve(sawPreface bool) error {
	defer c.close()
	if !sawPreface {
		var p [len(http2.ClientPreface)]byte
		if _, err := io.ReadFull(c.br, p[:]); err != nil {
			return fmt.Errorf("read client preface: %w", err)
		}
		if !bytes.Equal(p[:], []byte(http2.ClientPreface)) {
			return errors.New("bad client preface")
		}
	}
	c.wmu.Lock()
	err := c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: h2MaxHeaderList},
	)
	if err == nil {
		err = c.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
	}
	if err == nil {
		err = c.bw.Flush()
	}
	c.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("write settings: %w", err)
	}
	for {
		if !c.frameBuffered() {
			if err := c.flush(); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		f, err := c.readFrame()
		if err == nil {
			err = c.process(f)
		}
		if err != nil && c.fail(err) {
			return err
		}
	}
}

// readFrame reads the next frame. A HEADERS frame that fails to parse is
// a connection error even where the Framer calls it the stream's: its
// header block was not decoded, so the HPACK state is lost.
func (c *h2conn) readFrame() (http2.Frame, error) {
	fh, err := c.fr.ReadFrameHeader()
	if err != nil {
		return nil, err
	}
	f, err := c.fr.ReadFrameForHeader(fh)
	var se http2.StreamError
	if fh.Type == http2.FrameHeaders && errors.As(err, &se) {
		return nil, connError(http2.ErrCodeProtocol)
	}
	return f, err
}

// linger reads and drops what the client still sends, for a moment, after
// a GOAWAY for a connection error: closing with unread input would reset
// the connection, and the client might lose the GOAWAY that says why.
func (c *h2conn) linger() {
	if err := c.nc.SetReadDeadline(time.Now().Add(h2Linger)); err == nil {
		_, _ = io.Copy(io.Discard, c.br)
	}
}

// frameBuffered says whether a whole frame is already buffered, so
// answers can wait for it to be read.
func (c *h2conn) frameBuffered() bool {
	n := c.br.Buffered()
	if n < 9 {
		return false
	}
	h, _ := c.br.Peek(9)
	return n >= 9+(int(h[0])<<16|int(h[1])<<8|int(h[2]))
}

// flush writes out the buffered frames.
func (c *h2conn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed || c.bw.Buffered() == 0 {
		return nil
	}
	return c.bw.Flush()
}

// fail handles an error from reading or handling a frame and says
// whether the connection is over. A stream error resets that stream; a
// connection error is sent in a GOAWAY.
func (c *h2conn) fail(err error) bool {
	var se http2.StreamError
	if errors.As(err, &se) {
		c.resetStream(se.StreamID, se.Code)
		return false
	}
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &ce):
		c.goAwayWith(http2.ErrCode(ce), c.fr.ErrorDetail())
		c.linger()
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.goAwayWith(http2.ErrCodeFrameSize, nil)
		c.linger()
	case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
		// A frame too short to parse, or a broken connection, where
		// this GOAWAY goes nowhere.
		c.goAwayWith(http2.ErrCodeProtocol, nil)
		c.linger()
	}
	return true
}

// connError is a connection error of the given code.
func connError(code http2.ErrCode) error { return http2.ConnectionError(code) }

// process handles one frame.
func (c *h2conn) process(f http2.Frame) error {
	if !c.sawSettings {
		sf, ok := f.(*http2.SettingsFrame)
		if !ok || sf.IsAck() {
			return connError(http2.ErrCodeProtocol) // the preface ends with SETTINGS
		}
		c.sawSettings = true
	}
	switch f := f.(type) {
	case *http2.HeadersFrame:
		return c.onHeaders(f)
	case *http2.ContinuationFrame:
		return c.headerFragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.RSTStreamFrame:
		return c.onReset(f.StreamID)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		c.wmu.Lock()
		defer c.wmu.Unlock()
		return c.writeErr(c.fr.WritePing(true, f.Data))
	case *http2.PushPromiseFrame:
		return connError(http2.ErrCodeProtocol) // clients do not push
	}
	// PRIORITY, PRIORITY_UPDATE, the client's GOAWAY and unknown frame
	// types change nothing here.
	return nil
}

// writeErr keeps a write error for the flush to report; writes go to a
// buffer, so an error here means the connection already failed.
func (c *h2conn) writeErr(err error) error {
	if err != nil && !c.closed {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

func (c *h2conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerInitWin
			c.peerInitWin = int64(s.Val)
			for _, st := range c.answering {
				if !st.started {
					continue // its window starts from the new value
				}
				if st.sendWin += delta; st.sendWin > 1<<31-1 {
					return connError(http2.ErrCodeFlowControl)
				}
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.fr.WriteSettingsAck(); err != nil {
		return c.writeErr(err)
	}
	c.resumeLocked()
	return nil
}

func (c *h2conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	id, n := f.StreamID, int64(f.Increment)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if id == 0 {
		if c.sendWin += n; c.sendWin > 1<<31-1 {
			return connError(http2.ErrCodeFlowControl)
		}
		c.resumeLocked()
		return nil
	}
	if st := c.answering[id]; st != nil {
		if !st.started {
			st.sendDelta += n // for the answer, once there is one
			return nil
		}
		if st.sendWin += n; st.sendWin > 1<<31-1 {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
		}
		c.resumeLocked()
		return nil
	}
	if st := c.streams[id]; st != nil {
		st.sendDelta += n // for the answer, once there is one
		return nil
	}
	if id > c.seenID {
		return connError(http2.ErrCodeProtocol) // an idle stream
	}
	return nil
}

// onReset is the client's RST_STREAM: forget the stream, stop a slow
// answer and drop whatever of its answer is unsent.
func (c *h2conn) onReset(id uint32) error {
	if id > c.seenID {
		return connError(http2.ErrCodeProtocol) // an idle stream
	}
	if st := c.streams[id]; st != nil {
		delete(c.streams, id)
		c.wmu.Lock()
		c.doneLocked()
		c.wmu.Unlock()
		c.release(st)
		return nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if st := c.answering[id]; st != nil {
		st.reset = true
		st.out = nil
		if st.cancel != nil {
			st.cancel()
		}
		delete(c.answering, id)
		c.doneLocked()
	}
	return nil
}

// resetStream ends a stream with a stream error.
func (c *h2conn) resetStream(id uint32, code http2.ErrCode) {
	if st := c.streams[id]; st != nil {
		delete(c.streams, id)
		c.release(st)
		c.wmu.Lock()
		c.doneLocked()
		c.wmu.Unlock()
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if st := c.answering[id]; st != nil {
		st.reset = true
		if st.cancel != nil {
			st.cancel()
		}
		delete(c.answering, id)
		c.doneLocked()
	}
	if !c.closed {
		_ = c.fr.WriteRSTStream(id, code)
	}
}

// doneLocked counts a stream as finished; after a GOAWAY the last one
// closes the connection.
func (c *h2conn) doneLocked() {
	c.inflight--
	if c.goingAway && c.inflight == 0 {
		c.closeLocked()
	}
}

// goAway is Close's graceful end: GOAWAY naming the last stream taken,
// then the connection closes once those are answered.
func (c *h2conn) goAway() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed || c.goingAway {
		return
	}
	c.goingAway = true
	_ = c.fr.WriteGoAway(c.lastID, http2.ErrCodeNo, nil)
	_ = c.bw.Flush()
	if c.inflight == 0 {
		c.closeLocked()
	}
}

// goAwayWith sends GOAWAY for a connection error and writes nothing
// more; serve closes the connection.
func (c *h2conn) goAwayWith(code http2.ErrCode, detail error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return
	}
	var debug []byte
	if detail != nil {
		debug = []byte(detail.Error())
	}
	_ = c.fr.WriteGoAway(c.lastID, code, debug)
	c.stopLocked()
	// Half-close, so the client sees the end at once while linger
	// reads what it still sends.
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

func (c *h2conn) close() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.closeLocked()
}

// stopLocked flushes what it can and ends all writing; slow answers
// still running find the connection closed and write nothing.
func (c *h2conn) stopLocked() {
	if c.closed {
		return
	}
	c.closed = true
	_ = c.bw.Flush()
	c.cancel()
}

// closeLocked stops writing and closes the connection.
func (c *h2conn) closeLocked() {
	c.stopLocked()
	if !c.ncClosed {
		c.ncClosed = true
		_ = c.nc.Close()
	}
}
