package h2client

import (
	"errors"
	"fmt"

	"golang.org/x/net/http2"
)

// readLoop reads frames until the connection fails, then fails it.
func (c *conn) readLoop() {
	var err error
	for {
		var f http2.Frame
		f, err = c.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				c.resetStream(se.StreamID, se.Code, fmt.Errorf("h2client: bad answer from %s: %w", c.t.host, se))
				continue
			}
			break
		}
		c.framesRead.Add(1)
		if err = c.handle(f); err != nil {
			break
		}
	}
	c.fail(fmt.Errorf("h2client: connection to %s lost: %w", c.t.host, err))
}

func (c *conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		err := c.handleData(f)
		c.afterFinish()
		return err
	case *http2.MetaHeadersFrame:
		err := c.handleHeaders(f)
		c.afterFinish()
		return err
	case *http2.RSTStreamFrame:
		err := fmt.Errorf("h2client: %s reset the stream: %w", c.t.host, http2.StreamError{StreamID: f.StreamID, Code: f.ErrCode})
		if f.ErrCode == http2.ErrCodeRefusedStream {
			err = fmt.Errorf("%w (%w)", err, ErrUnprocessed)
		}
		c.mu.Lock()
		if s := c.streams[f.StreamID]; s != nil {
			c.finishLocked(s, err)
		}
		c.mu.Unlock()
		c.afterFinish()
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		c.mu.Lock()
		err := c.applySettingsLocked(f)
		c.mu.Unlock()
		c.t.broadcast() // MAX_CONCURRENT_STREAMS may have grown
		return err
	case *http2.PingFrame:
		if !f.IsAck() {
			c.mu.Lock()
			c.queueCtrlLocked(ctrlFrame{kind: ctrlPingAck, data: f.Data})
			c.mu.Unlock()
		}
	case *http2.GoAwayFrame:
		c.handleGoAway(f)
	case *http2.WindowUpdateFrame:
		return c.handleWindowUpdate(f)
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // push was disabled
	}
	return nil // PRIORITY and unknown frames are ignored
}

// applySettingsLocked applies the server's SETTINGS and queues the ack.
func (c *conn) applySettingsLocked(f *http2.SettingsFrame) error {
	err := f.ForeachSetting(func(st http2.Setting) error {
		if err := st.Valid(); err != nil {
			return err
		}
		switch st.ID {
		case http2.SettingMaxConcurrentStreams:
			c.maxConcurrent = st.Val
		case http2.SettingInitialWindowSize:
			delta := int64(st.Val) - int64(c.peerInitWindow)
			for _, s := range c.streams {
				w := int64(s.sendWindow) + delta
				if w > 1<<31-1 {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
				s.sendWindow = int32(w)
			}
			c.peerInitWindow = int32(st.Val)
			if delta > 0 {
				c.windowGrew = true
				c.wakeWriter()
			}
		case http2.SettingMaxFrameSize:
			c.maxFrameSize = st.Val
		case http2.SettingHeaderTableSize:
			c.queueCtrlLocked(ctrlFrame{kind: ctrlTableSize, n: st.Val})
		case http2.SettingMaxHeaderListSize:
			c.peerMaxHeaderList = st.Val
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.queueCtrlLocked(ctrlFrame{kind: ctrlSettingsAck})
	return nil
}

// handleData keeps a DATA frame's payload for its stream and returns
// flow-control credit: for the connection always (a reset stream's data
// counts too), for the stream while it is open.
func (c *conn) handleData(f *http2.DataFrame) error {
	n := int32(f.Length) // padding included
	c.recvWindow -= n
	if c.recvWindow < 0 {
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvUnacked += n
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recvUnacked >= connWindowBoost/2 {
		c.queueCtrlLocked(ctrlFrame{kind: ctrlWindowUpdate, n: uint32(c.recvUnacked)})
		c.recvWindow += c.recvUnacked
		c.recvUnacked = 0
	}
	s := c.streams[f.StreamID]
	if s == nil {
		return nil // reset or cancelled; its data is dropped
	}
	if s.state != stateOpen || !s.gotHeaders {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	s.recvWindow -= n
	if s.recvWindow < 0 {
		c.resetStreamLocked(s, http2.ErrCodeFlowControl, fmt.Errorf("h2client: %s overran the stream's window", c.t.host))
		return nil
	}
	data := f.Data()
	if room := c.maxRespBody - len(s.buf); len(data) > room {
		// Keep what fits, stop the stream: the caller gets a truncated body.
		s.buf = append(s.buf, data[:room]...)
		s.truncated = true
		c.resetStreamLocked(s, http2.ErrCodeCancel, nil)
		return nil
	}
	s.buf = append(s.buf, data...)
	if f.StreamEnded() {
		c.answeredLocked(s)
		return nil
	}
	if s.recvUnacked += n; s.recvUnacked >= c.streamWindow/2 {
		c.queueCtrlLocked(ctrlFrame{kind: ctrlWindowUpdate, streamID: s.id, n: uint32(s.recvUnacked)})
		s.recvWindow += s.recvUnacked
		s.recvUnacked = 0
	}
	return nil
}

// handleHeaders takes a response's headers, skipping 1xx ones, or its
// trailers.
func (c *conn) handleHeaders(f *http2.MetaHeadersFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.streams[f.StreamID]
	if s == nil {
		return nil // decoded (the table must stay in step) and dropped
	}
	if s.state != stateOpen {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	bad := func(why string) error {
		c.resetStreamLocked(s, http2.ErrCodeProtocol, fmt.Errorf("h2client: bad answer from %s: %s", c.t.host, why))
		return nil
	}
	if f.Truncated {
		return bad("headers over the size limit")
	}
	if !s.gotHeaders {
		status := f.PseudoValue("status")
		code := 0
		if len(status) == 3 {
			for _, d := range []byte(status) {
				if d < '0' || d > '9' {
					code = -1000
				}
				code = code*10 + int(d-'0')
			}
		}
		if code < 100 || code > 999 {
			return bad("no valid :status")
		}
		if code < 200 {
			if f.StreamEnded() {
				return bad("informational response ends the stream")
			}
			return nil // 1xx: the final answer follows
		}
		s.status, s.fields, s.gotHeaders = code, f.RegularFields(), true
	} else {
		if !f.StreamEnded() {
			return bad("headers after the response headers do not end the stream")
		}
		s.trailer = f.RegularFields()
	}
	if f.StreamEnded() {
		c.answeredLocked(s)
	}
	return nil
}

func (c *conn) handleGoAway(f *http2.GoAwayFrame) {
	err := fmt.Errorf("h2client: %s is going away (%v) (%w)", c.t.host, f.ErrCode, ErrUnprocessed)
	c.mu.Lock()
	c.retireLocked()
	for id, s := range c.streams {
		if id > f.LastStreamID {
			c.finishLocked(s, err)
		}
	}
	c.mu.Unlock()
	c.t.remove(c)
	c.afterFinish()
}

func (c *conn) handleWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		if int64(c.sendWindow)+inc > 1<<31-1 {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		c.sendWindow += int32(inc)
	} else if s := c.streams[f.StreamID]; s != nil {
		if int64(s.sendWindow)+inc > 1<<31-1 {
			c.resetStreamLocked(s, http2.ErrCodeFlowControl, fmt.Errorf("h2client: %s overflowed the stream's window", c.t.host))
			return nil
		}
		s.sendWindow += int32(inc)
	}
	c.windowGrew = true
	if len(c.blocked) > 0 {
		c.wakeWriter()
	}
	return nil
}

// resetStream ends stream id with err and tells the server (RST_STREAM).
func (c *conn) resetStream(id uint32, code http2.ErrCode, err error) {
	c.mu.Lock()
	if s := c.streams[id]; s != nil {
		c.resetStreamLocked(s, code, err)
	} else if id != 0 {
		c.queueCtrlLocked(ctrlFrame{kind: ctrlRST, streamID: id, code: code})
	}
	c.mu.Unlock()
	c.afterFinish()
}

// resetStreamLocked queues RST_STREAM for s and ends it with err (nil:
// the answer so far stands, as for a body over the limit).
func (c *conn) resetStreamLocked(s *stream, code http2.ErrCode, err error) {
	c.queueCtrlLocked(ctrlFrame{kind: ctrlRST, streamID: s.id, code: code})
	c.finishLocked(s, err)
}

// answeredLocked ends s, answered; if the server answered before the whole
// body went, the rest is not sent and the stream is reset.
func (c *conn) answeredLocked(s *stream) {
	if s.sent < len(s.body) {
		c.queueCtrlLocked(ctrlFrame{kind: ctrlRST, streamID: s.id, code: http2.ErrCodeCancel})
	}
	c.finishLocked(s, nil)
}
