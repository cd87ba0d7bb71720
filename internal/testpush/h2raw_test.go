package testpush

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Tests that speak raw frames to the lean server (over h2c), for what a
// well-behaved client never sends.

// rawConn is an HTTP/2 client connection driven frame by frame.
type rawConn struct {
	t   testing.TB
	nc  net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	buf bytes.Buffer
}

// dialRaw connects to srv (started without TLS), sends the preface and
// an empty SETTINGS, and reads the server's SETTINGS.
func dialRaw(t testing.TB, srv *Server) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if err := nc.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	rc := &rawConn{t: t, nc: nc}
	rc.fr = http2.NewFramer(nc, nc)
	rc.fr.AllowIllegalWrites = true
	rc.enc = hpack.NewEncoder(&rc.buf)
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := rc.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	f, err := rc.fr.ReadFrame()
	if sf, ok := f.(*http2.SettingsFrame); err != nil || !ok || sf.IsAck() {
		t.Fatalf("first frame from the server: %v, %v", f, err)
	} else if v, _ := sf.Value(http2.SettingMaxConcurrentStreams); srv.lean != nil && v != h2MaxStreams {
		t.Fatalf("MAX_CONCURRENT_STREAMS %d", v)
	}
	return rc
}

// block encodes header fields, name and value in turn.
func (rc *rawConn) block(kv ...string) []byte {
	rc.buf.Reset()
	for i := 0; i < len(kv); i += 2 {
		if err := rc.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]}); err != nil {
			rc.t.Fatal(err)
		}
	}
	return bytes.Clone(rc.buf.Bytes())
}

// pushHeaders is the header block of a valid push of body to sub.
func (rc *rawConn) pushHeaders(sn *sender, sub Subscription, body []byte) []byte {
	req := sn.requestBody(rc.t, sub.Endpoint, body)
	return rc.block(":method", "POST", ":scheme", "http", ":authority", req.URL.Host, ":path", req.URL.Path,
		"ttl", "60", "content-encoding", "aes128gcm", "authorization", req.Header.Get("Authorization"),
		"content-length", strconv.Itoa(len(body)))
}

// next reads frames until one that is not SETTINGS, WINDOW_UPDATE or a
// PING ack; io.EOF when the server closed the connection.
func (rc *rawConn) next() (http2.Frame, error) {
	for {
		f, err := rc.fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame, *http2.WindowUpdateFrame:
			continue
		case *http2.PingFrame:
			if f.IsAck() {
				continue
			}
		}
		return f, nil
	}
}

// pingPong sends a PING and waits for its ack: the server has then read
// everything sent before.
func (rc *rawConn) pingPong() {
	rc.t.Helper()
	if err := rc.fr.WritePing(false, [8]byte{7}); err != nil {
		rc.t.Fatal(err)
	}
	for {
		f, err := rc.fr.ReadFrame()
		if err != nil {
			rc.t.Fatalf("waiting for a PING ack: %v", err)
		}
		if p, ok := f.(*http2.PingFrame); ok && p.IsAck() && p.Data == [8]byte{7} {
			return
		}
	}
}

// goAway expects a GOAWAY with code, then the connection's end.
func (rc *rawConn) goAway(code http2.ErrCode) {
	rc.t.Helper()
	f, err := rc.next()
	ga, ok := f.(*http2.GoAwayFrame)
	if err != nil || !ok || ga.ErrCode != code {
		rc.t.Fatalf("got %v, %v; want GOAWAY %v", f, err, code)
	}
	if f, err := rc.next(); !errors.Is(err, io.EOF) {
		rc.t.Fatalf("after GOAWAY: %v, %v; want the connection closed", f, err)
	}
}

func TestLeanMalformedFrames(t *testing.T) {
	srv := start(t, Options{})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	sn := newSender(t)
	for _, tc := range []struct {
		name string
		send func(rc *rawConn)
		code http2.ErrCode
	}{
		{"ping of 7 bytes", func(rc *rawConn) { rc.fr.WriteRawFrame(http2.FramePing, 0, 0, make([]byte, 7)) }, http2.ErrCodeFrameSize},
		{"frame over 16 KB", func(rc *rawConn) { rc.fr.WriteRawFrame(http2.FrameData, 0, 1, make([]byte, 20000)) }, http2.ErrCodeFrameSize},
		{"frame header alone over 16 KB", func(rc *rawConn) { rc.nc.Write([]byte{0, 0x50, 0, 0, 0, 0, 0, 0, 1}) }, http2.ErrCodeFrameSize},
		{"settings of 5 bytes", func(rc *rawConn) { rc.fr.WriteRawFrame(http2.FrameSettings, 0, 0, make([]byte, 5)) }, http2.ErrCodeFrameSize},
		{"headers on an even stream", func(rc *rawConn) {
			rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 2, BlockFragment: rc.pushHeaders(sn, sub, nil), EndHeaders: true, EndStream: true})
		}, http2.ErrCodeProtocol},
		{"data on an idle stream", func(rc *rawConn) { rc.fr.WriteData(5, true, []byte("x")) }, http2.ErrCodeProtocol},
		{"data on stream 0", func(rc *rawConn) { rc.fr.WriteData(0, true, []byte("x")) }, http2.ErrCodeProtocol},
		{"continuation alone", func(rc *rawConn) { rc.fr.WriteContinuation(1, true, rc.block(":method", "GET")) }, http2.ErrCodeProtocol},
		{"headers interrupted", func(rc *rawConn) {
			blk := rc.pushHeaders(sn, sub, nil)
			rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk[:5]})
			rc.fr.WritePing(false, [8]byte{})
		}, http2.ErrCodeProtocol},
		{"bad hpack", func(rc *rawConn) {
			rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0xff, 0xff, 0xff, 0xff, 0x7f}, EndHeaders: true})
		}, http2.ErrCodeCompression},
		{"window update of 0", func(rc *rawConn) { rc.fr.WriteWindowUpdate(0, 0) }, http2.ErrCodeProtocol},
		{"headers padded past their end", func(rc *rawConn) {
			rc.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersPadded|http2.FlagHeadersEndHeaders, 1, []byte{9, 0x82})
		}, http2.ErrCodeProtocol},
		{"headers too short for their priority", func(rc *rawConn) {
			rc.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersPriority|http2.FlagHeadersEndHeaders, 1, []byte{0, 0})
		}, http2.ErrCodeProtocol},
		{"window overflow", func(rc *rawConn) { rc.fr.WriteWindowUpdate(0, 1<<31-1) }, http2.ErrCodeFlowControl},
		{"initial window too large", func(rc *rawConn) {
			rc.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
		}, http2.ErrCodeFlowControl},
		{"push promise", func(rc *rawConn) {
			rc.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: rc.block(":method", "GET"), EndHeaders: true})
		}, http2.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, srv)
			tc.send(rc)
			rc.goAway(tc.code)
		})
	}
	t.Run("first frame not settings", func(t *testing.T) {
		nc, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		rc := &rawConn{t: t, nc: nc, fr: http2.NewFramer(nc, nc)}
		io.WriteString(nc, http2.ClientPreface)
		rc.fr.WritePing(false, [8]byte{})
		rc.goAway(http2.ErrCodeProtocol)
	})
	if st := srv.Stats(); st.Requests != 0 {
		t.Errorf("malformed frames made %d requests", st.Requests)
	}
}

// TestLeanStreamErrors: a malformed request resets its stream only; the
// connection goes on.
func TestLeanStreamErrors(t *testing.T) {
	srv := start(t, Options{})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	sn := newSender(t)
	rc := dialRaw(t, srv)
	body := encrypt(t, sub, []byte("raw"))
	id := uint32(1)
	for _, blk := range [][]byte{
		rc.block(":method", "POST", ":scheme", "http", ":path", "/wpush/"+sub.ID, "TTL", "60"),                // upper case
		rc.block(":method", "POST", ":scheme", "http", ":path", "/wpush/"+sub.ID, "connection", "keep-alive"), // connection-specific
		rc.block(":method", "POST", ":path", "/wpush/"+sub.ID),                                                // no :scheme
		rc.block("ttl", "60", ":method", "POST", ":scheme", "http", ":path", "/wpush/"+sub.ID),                // pseudo after regular
		rc.block(":method", "POST", ":scheme", "http", ":path", "/wpush/"+sub.ID, ":status", "200"),           // response pseudo
		rc.block(":method", "POST", ":method", "GET", ":scheme", "http", ":path", "/wpush/"+sub.ID),           // repeated
	} {
		rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndHeaders: true, EndStream: true})
		f, err := rc.next()
		if rst, ok := f.(*http2.RSTStreamFrame); err != nil || !ok || rst.StreamID != id || rst.ErrCode != http2.ErrCodeProtocol {
			t.Fatalf("stream %d: got %v, %v; want RST_STREAM PROTOCOL_ERROR", id, f, err)
		}
		id += 2
	}
	// Content-length that the body does not match.
	rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: rc.pushHeaders(sn, sub, body), EndHeaders: true})
	rc.fr.WriteData(id, true, body[:len(body)-1])
	if f, err := rc.next(); err != nil || f.Header().Type != http2.FrameRSTStream || f.Header().StreamID != id {
		t.Fatalf("short body: %v, %v", f, err)
	}
	id += 2
	// A valid push, in three DATA frames, still works; so does PING.
	rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: rc.pushHeaders(sn, sub, body), EndHeaders: true})
	rc.fr.WriteData(id, false, body[:10])
	rc.fr.WriteData(id, false, body[10:20])
	rc.fr.WriteData(id, true, body[20:])
	rc.fr.WritePing(false, [8]byte{1, 2, 3})
	f, err := rc.next()
	hf, ok := f.(*http2.HeadersFrame)
	if err != nil || !ok || hf.StreamID != id || !hf.StreamEnded() {
		t.Fatalf("valid push: %v, %v", f, err)
	}
	var status string
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":status" {
			status = f.Value
		}
	})
	if _, err := dec.Write(hf.HeaderBlockFragment()); err != nil || status != "201" {
		t.Fatalf("valid push answered %q, %v", status, err)
	}
	// The ping was sent after the push: its ack comes after the answer.
	f, err = rc.fr.ReadFrame()
	if p, ok := f.(*http2.PingFrame); err != nil || !ok || !p.IsAck() || p.Data != [8]byte{1, 2, 3} {
		t.Fatalf("ping: %v, %v", f, err)
	}
	if st := srv.Stats(); st.Accepted != 1 || st.Requests != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestLeanCloseSendsGoAway: Close sends GOAWAY naming the last stream
// taken, answers that stream once its body arrives, then closes.
func TestLeanCloseSendsGoAway(t *testing.T) {
	srv, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, srv)
	body := encrypt(t, sub, []byte("in flight"))
	rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: rc.pushHeaders(newSender(t), sub, body), EndHeaders: true})
	rc.fr.WriteData(1, false, body[:10])
	rc.pingPong()
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	f, err := rc.next()
	if ga, ok := f.(*http2.GoAwayFrame); err != nil || !ok || ga.ErrCode != http2.ErrCodeNo || ga.LastStreamID != 1 {
		t.Fatalf("got %v, %v; want GOAWAY NO_ERROR last stream 1", f, err)
	}
	rc.fr.WriteData(1, true, body[10:])
	f, err = rc.next()
	if hf, ok := f.(*http2.HeadersFrame); err != nil || !ok || hf.StreamID != 1 {
		t.Fatalf("got %v, %v; want the push's answer", f, err)
	}
	if f, err := rc.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last answer: %v, %v; want the connection closed", f, err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if srv.Count() != 1 {
		t.Fatalf("Count %d", srv.Count())
	}
}

// FuzzLeanFrames feeds arbitrary bytes after the preface to a lean
// connection: it must end without a panic or a hang, whatever comes.
func FuzzLeanFrames(f *testing.F) {
	srv := New(Options{BaseURL: "http://127.0.0.1:1"})
	sub, err := srv.NewSubscription()
	if err != nil {
		f.Fatal(err)
	}
	sn := newSender(f)
	body := encrypt(f, sub, []byte("fuzz"))
	var seed bytes.Buffer
	fr := http2.NewFramer(&seed, nil)
	rc := &rawConn{t: f, enc: nil}
	rc.enc = hpack.NewEncoder(&rc.buf)
	frame := func(write func()) []byte {
		seed.Reset()
		write()
		return bytes.Clone(seed.Bytes())
	}
	settings := frame(func() { fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100}) })
	headers := frame(func() {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: rc.pushHeaders(sn, sub, body), EndHeaders: true})
	})
	data := frame(func() { fr.WriteData(1, true, body) })
	get := frame(func() {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: rc.block(":method", "GET", ":scheme", "http", ":path", "/_testpush/stats"), EndHeaders: true, EndStream: true})
	})
	ping := frame(func() { fr.WritePing(false, [8]byte{}) })
	wu := frame(func() { fr.WriteWindowUpdate(0, 1000) })
	rst := frame(func() { fr.WriteRSTStream(1, http2.ErrCodeCancel) })
	f.Add(slices.Concat(settings, headers, data))
	f.Add(slices.Concat(settings, get, wu, ping))
	f.Add(slices.Concat(settings, headers, rst, data))
	f.Add(slices.Concat(settings, headers[:len(headers)/2]))
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
	l := newLeanServer(srv)
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		go io.Copy(io.Discard, client)
		done := make(chan struct{})
		go func() {
			l.serveConn(server, nil, true)
			close(done)
		}()
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("connection did not end")
		}
	})
}
