package h2client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// What this client advertises and assumes.
const (
	// defaultWindow is HTTP/2's initial flow-control window (RFC 9113
	// section 6.9.2), which the client keeps for its streams.
	defaultWindow = 65535
	// connWindowBoost raises the connection's receive window once at the
	// start, so many small answers never wait for a WINDOW_UPDATE.
	connWindowBoost = 1 << 20
	// maxHeaderList is the SETTINGS_MAX_HEADER_LIST_SIZE advertised: a
	// push service's answer has a few small headers.
	maxHeaderList = 1 << 20
	// maxReadFrame is the SETTINGS_MAX_FRAME_SIZE kept (the default).
	maxReadFrame = 16384
	// ioBuffer sizes the connection's read and write buffers.
	ioBuffer = 32 << 10
)

// Stream states.
const (
	stateQueued = iota // waiting for the writer
	stateOpen          // HEADERS taken by the writer
	stateDone          // answered, reset or failed
)

// ctrlFrame is a frame other than a request's HEADERS and DATA, queued for
// the writer.
type ctrlFrame struct {
	kind     int
	streamID uint32
	code     http2.ErrCode
	n        uint32
	data     [8]byte
}

const (
	ctrlSettingsAck = iota
	ctrlPingAck
	ctrlWindowUpdate
	ctrlRST
	ctrlTableSize // apply the peer's SETTINGS_HEADER_TABLE_SIZE to the encoder
	ctrlPing
)

// conn is one HTTP/2 connection with its writer and reader goroutines.
type conn struct {
	t        *Transport
	nc       net.Conn
	tlsState tls.ConnectionState
	fr       *http2.Framer
	bw       *bufio.Writer
	wake     chan struct{} // cap 1: work for the writer
	done     chan struct{} // closed when the connection is dead

	// Writer-only.
	henc          *hpack.Encoder
	hbuf          bytes.Buffer
	writeDeadline time.Time

	framesRead atomic.Uint64 // counted by the reader: signs of life
	pinging    atomic.Bool   // a health check is under way

	// Reader-only.
	recvWindow   int32 // connection receive window left
	recvUnacked  int32 // received since the last connection WINDOW_UPDATE
	maxRespBody  int
	streamWindow int32 // the receive window of each stream

	mu                sync.Mutex
	streams           map[uint32]*stream // queued and open
	queue             []*stream          // for the writer, in id order
	blocked           []*stream          // bodies waiting for a window
	windowGrew        bool               // a send window grew: retry blocked
	ctrl              []ctrlFrame
	spareQueue        []*stream
	spareCtrl         []ctrlFrame
	nextID            uint32
	active            uint32 // queued and open streams
	maxConcurrent     uint32
	sendWindow        int32 // connection send window
	peerInitWindow    int32
	maxFrameSize      uint32
	peerMaxHeaderList uint32      // 0: no limit
	retired           bool        // no new streams: GOAWAY, ids used up or idle
	retiredFlag       atomic.Bool // retired, readable without mu
	err               error       // set when dead
	idleSince         time.Time
	idleTimer         *time.Timer
	idleArmed         bool
}

// dial opens a connection to t's origin, exchanges the prefaces and
// SETTINGS and starts the writer and reader. It returns errFallback when
// the server does not speak h2.
func dial(t *Transport) (*conn, error) {
	ctx, cancel := context.WithTimeout(t.ctx, t.o.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, fmt.Errorf("h2client: dial %s: %w", t.host, err)
	}
	tc := tls.Client(nc, t.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("h2client: TLS handshake with %s: %w", t.host, err)
	}
	st := tc.ConnectionState()
	if st.NegotiatedProtocol != "h2" {
		tc.Close()
		t.setFallback()
		return nil, errFallback
	}
	c := &conn{
		t: t, nc: tc, tlsState: st,
		bw:   bufio.NewWriterSize(tc, ioBuffer),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		recvWindow: defaultWindow + connWindowBoost, maxRespBody: t.o.MaxResponseBody, streamWindow: defaultWindow,
		streams: map[uint32]*stream{}, nextID: 1, maxConcurrent: 100,
		sendWindow: defaultWindow, peerInitWindow: defaultWindow, maxFrameSize: 16384,
	}
	c.fr = http2.NewFramer(c.bw, bufio.NewReaderSize(tc, ioBuffer))
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = maxHeaderList
	c.fr.SetMaxReadFrameSize(maxReadFrame)
	c.henc = hpack.NewEncoder(&c.hbuf)
	if err := c.handshake(ctx); err != nil {
		tc.Close()
		return nil, fmt.Errorf("h2client: HTTP/2 preface with %s: %w", t.host, err)
	}
	c.mu.Lock()
	c.becameIdleLocked()
	c.mu.Unlock()
	go c.writeLoop()
	go c.readLoop()
	return c, nil
}

// handshake writes the client preface, SETTINGS and a connection
// WINDOW_UPDATE, and reads the server's SETTINGS (which must come first),
// queueing its ack for the writer.
func (c *conn) handshake(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(dl)
	}
	defer c.nc.SetDeadline(time.Time{})
	c.bw.WriteString(http2.ClientPreface)
	c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: maxHeaderList},
	)
	c.fr.WriteWindowUpdate(0, connWindowBoost)
	if err := c.bw.Flush(); err != nil {
		return err
	}
	f, err := c.fr.ReadFrame()
	if err != nil {
		return err
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return fmt.Errorf("first frame is %v, not SETTINGS", f.Header().Type)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applySettingsLocked(sf)
}

// tryEnqueue queues s when c can open another stream. It reports false,
// and whether c should leave the pool, when it cannot. The caller holds
// t.mu.
func (c *conn) tryEnqueue(s *stream) (ok, retire bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.err != nil || c.retired:
		return false, true
	case c.nextID > c.t.maxStreamID:
		c.retireLocked()
		return false, true
	case c.active >= c.maxConcurrent:
		return false, false
	}
	s.c, s.id, s.state = c, c.nextID, stateQueued
	s.sendWindow, s.recvWindow = c.peerInitWindow, c.streamWindow
	c.nextID += 2
	c.active++
	c.streams[s.id] = s
	c.queue = append(c.queue, s)
	c.wakeWriter()
	return true, false
}

func (c *conn) wakeWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// queueCtrlLocked queues a control frame for the writer.
func (c *conn) queueCtrlLocked(f ctrlFrame) {
	c.ctrl = append(c.ctrl, f)
	c.wakeWriter()
}

// await waits for s's answer or ctx's end; on the latter the stream is
// reset (RST_STREAM CANCEL) and the connection stays in use.
func (c *conn) await(ctx context.Context, s *stream) (*http.Response, error) {
	select {
	case <-s.done:
	case <-ctx.Done():
		c.mu.Lock()
		if s.state != stateDone {
			if s.state == stateOpen {
				c.queueCtrlLocked(ctrlFrame{kind: ctrlRST, streamID: s.id, code: http2.ErrCodeCancel})
			}
			c.finishLocked(s, fmt.Errorf("h2client: request to %s: %w", c.t.host, ctx.Err()))
		}
		c.mu.Unlock()
		c.afterFinish()
		c.healthCheck()
		<-s.done
	}
	if s.err != nil {
		return nil, s.err
	}
	return s.response(), nil
}

// healthCheck sends a PING and fails the connection if no frame at all
// arrives within Options.PingTimeout. It runs when a request gave up
// waiting: the peer may be gone without a word (no FIN, no RST).
func (c *conn) healthCheck() {
	if !c.pinging.CompareAndSwap(false, true) {
		return
	}
	seen := c.framesRead.Load()
	c.mu.Lock()
	c.queueCtrlLocked(ctrlFrame{kind: ctrlPing})
	c.mu.Unlock()
	time.AfterFunc(c.t.o.PingTimeout, func() {
		if c.framesRead.Load() == seen {
			c.fail(fmt.Errorf("h2client: connection to %s: nothing received for %s after a PING", c.t.host, c.t.o.PingTimeout))
		}
		c.pinging.Store(false)
	})
}

// finishLocked ends s with err (nil: answered) and frees its slot.
func (c *conn) finishLocked(s *stream, err error) {
	if s.state == stateDone {
		return
	}
	s.state, s.err = stateDone, err
	delete(c.streams, s.id)
	c.active--
	if c.active == 0 {
		c.becameIdleLocked()
	}
	close(s.done)
}

// afterFinish runs, without c.mu, after streams ended: it wakes callers
// waiting for a slot and closes a retired connection left with none.
func (c *conn) afterFinish() {
	c.t.broadcast()
	if !c.retiredFlag.Load() {
		return
	}
	c.mu.Lock()
	closeNow := c.retired && c.active == 0 && c.err == nil
	c.mu.Unlock()
	if closeNow {
		c.fail(errors.New("h2client: connection retired"))
	}
}

// becameIdleLocked notes the start of an idle period and arms the timer.
func (c *conn) becameIdleLocked() {
	c.idleSince = time.Now()
	if c.idleArmed {
		return
	}
	c.idleArmed = true
	if c.idleTimer == nil {
		c.idleTimer = time.AfterFunc(c.t.o.IdleTimeout, c.idleCheck)
	} else {
		c.idleTimer.Reset(c.t.o.IdleTimeout)
	}
}

func (c *conn) idleCheck() {
	c.mu.Lock()
	if c.active > 0 || c.err != nil {
		c.idleArmed = false
		c.mu.Unlock()
		return
	}
	if wait := c.t.o.IdleTimeout - time.Since(c.idleSince); wait > 0 {
		c.idleTimer.Reset(wait)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.closeIfIdle(0)
}

// closeIfIdle closes c if it has had no stream for at least d.
func (c *conn) closeIfIdle(d time.Duration) {
	c.mu.Lock()
	idle := c.active == 0 && c.err == nil && time.Since(c.idleSince) >= d
	if idle {
		c.retireLocked()
	}
	c.mu.Unlock()
	if idle {
		c.fail(errors.New("h2client: connection idle"))
	}
}

// retireLocked stops new streams on c.
func (c *conn) retireLocked() {
	c.retired = true
	c.retiredFlag.Store(true)
}

func (c *conn) close() { c.fail(fmt.Errorf("h2client: transport for %s closed", c.t.host)) }

// fail kills the connection: every stream on it ends with err, those not
// yet written wrapping ErrUnprocessed. Only the first call counts.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	for _, s := range c.streams {
		e := err
		if s.state == stateQueued {
			e = fmt.Errorf("%w (%w)", err, ErrUnprocessed)
		}
		c.finishLocked(s, e)
	}
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	c.mu.Unlock()
	close(c.done)
	c.nc.Close()
	c.t.remove(c)
}
