package testpush

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldpush/herald/internal/webpush"
)

const (
	// pushSubprotocol is the WebSocket subprotocol of Mozilla's push
	// protocol, which Firefox asks for.
	pushSubprotocol = "push-notification"
	// socketWriteTimeout bounds one write to a browser. Writes do not use
	// the pushing request's context: a sender giving up must not close
	// the browser's socket.
	socketWriteTimeout = 10 * time.Second
)

// browsers is the state of Mozilla-protocol clients.
type browsers struct {
	mu        sync.Mutex
	uas       map[string]*userAgent
	conns     map[*socket]struct{}
	closed    bool
	hellos    counter
	connected atomic.Int64
}

// socket is one open browser WebSocket.
type socket struct{ c *websocket.Conn }

// write sends v as one JSON text message.
func (sk *socket) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), socketWriteTimeout)
	defer cancel()
	if err := sk.c.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("write to browser: %w", err)
	}
	return nil
}

// userAgent is one browser, known by its uaid across reconnects.
type userAgent struct {
	uaid     string
	mu       sync.Mutex
	sock     *socket // nil while offline
	channels map[string]*channel
	pending  []*pendingMsg // unacknowledged, oldest first
}

// channel is one browser subscription (a channelID of a uaid).
type channel struct {
	ua  *userAgent
	id  string
	key []byte // application server key sent at register, or nil
	sub uint64 // index in the subscription table
}

// pendingMsg is a notification not yet acknowledged.
type pendingMsg struct {
	channelID, version, topic string
	data                      string // base64url of the body, unpadded
	expires                   time.Time
	sent                      bool // written on the current socket
}

// clientMessage is anything a browser sends.
type clientMessage struct {
	MessageType string      `json:"messageType"`
	UAID        string      `json:"uaid"`
	ChannelID   string      `json:"channelID"`
	Key         string      `json:"key"`
	Updates     []ackUpdate `json:"updates"`
}

type ackUpdate struct {
	ChannelID string `json:"channelID"`
	Version   string `json:"version"`
}

type helloReply struct {
	MessageType string            `json:"messageType"`
	Status      int               `json:"status"`
	UAID        string            `json:"uaid"`
	UseWebPush  bool              `json:"use_webpush"`
	Broadcasts  map[string]string `json:"broadcasts"`
}

type registerReply struct {
	MessageType  string `json:"messageType"`
	Status       int    `json:"status"`
	ChannelID    string `json:"channelID"`
	UAID         string `json:"uaid,omitempty"`
	PushEndpoint string `json:"pushEndpoint,omitempty"`
}

type notification struct {
	MessageType string            `json:"messageType"`
	ChannelID   string            `json:"channelID"`
	Version     string            `json:"version"`
	Data        string            `json:"data,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
}

// serveSocket runs one browser WebSocket until it closes.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{pushSubprotocol},
		// Firefox's push client sends no page origin; this server is on
		// loopback and holds nothing a page could steal.
		InsecureSkipVerify: true,
	})
	if err != nil {
		s.log.Debug("websocket accept", slog.Any("err", err))
		return
	}
	if c.Subprotocol() != pushSubprotocol {
		c.Close(websocket.StatusPolicyViolation, "subprotocol "+pushSubprotocol+" required")
		return
	}
	sk := &socket{c: c}
	if !s.browser.track(sk) {
		c.Close(websocket.StatusGoingAway, "server closed")
		return
	}
	var ua *userAgent
	defer func() {
		if ua != nil {
			s.detach(ua, sk)
		}
		s.browser.untrack(sk)
		c.CloseNow()
	}()
	ctx := r.Context()
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			s.log.Debug("browser socket closed", slog.Any("err", err))
			return
		}
		var m clientMessage
		if typ != websocket.MessageText || json.Unmarshal(data, &m) != nil {
			c.Close(websocket.StatusUnsupportedData, "JSON text messages only")
			return
		}
		switch {
		case m.MessageType == "": // "{}" is a ping
			err = sk.write(struct{}{})
		case m.MessageType == "hello" && ua == nil:
			ua, err = s.hello(sk, m.UAID)
		case ua == nil || m.MessageType == "hello":
			c.Close(websocket.StatusPolicyViolation, "exactly one hello, first")
			return
		case m.MessageType == "register":
			err = s.register(sk, ua, m)
		case m.MessageType == "unregister":
			err = s.unregister(sk, ua, m.ChannelID)
		case m.MessageType == "ack":
			s.ack(ua, m.Updates)
		case m.MessageType == "nack", m.MessageType == "broadcast_subscribe":
			// Nothing to do: no broadcasts, and a nack leaves the message
			// pending until the next hello.
		default:
			s.log.Debug("unknown browser message", slog.String("type", m.MessageType))
		}
		if err != nil {
			s.log.Debug("browser socket", slog.Any("err", err))
			return
		}
	}
}

func (b *browsers) track(sk *socket) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.conns[sk] = struct{}{}
	return true
}

func (b *browsers) untrack(sk *socket) {
	b.mu.Lock()
	delete(b.conns, sk)
	b.mu.Unlock()
}

func (b *browsers) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for sk := range b.conns {
		sk.c.CloseNow()
	}
}

// userAgent returns the browser known as uaid, or a new one with a fresh
// uaid when uaid is empty or unknown (autopush does the same; Firefox then
// drops its old subscriptions).
func (b *browsers) userAgent(uaid string) (*userAgent, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ua, ok := b.uas[uaid]; ok {
		return ua, nil
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("new uaid: %w", err)
	}
	ua := &userAgent{uaid: hex.EncodeToString(raw), channels: make(map[string]*channel)}
	b.uas[ua.uaid] = ua
	return ua, nil
}

// hello attaches sk to its browser, answers, and delivers what waited.
func (s *Server) hello(sk *socket, uaid string) (*userAgent, error) {
	ua, err := s.browser.userAgent(uaid)
	if err != nil {
		return nil, err
	}
	ua.mu.Lock()
	old := ua.sock
	ua.sock = sk
	for _, p := range ua.pending {
		p.sent = false
	}
	err = sk.write(helloReply{MessageType: "hello", Status: 200, UAID: ua.uaid, UseWebPush: true, Broadcasts: map[string]string{}})
	if err == nil {
		s.flush(ua)
	}
	ua.mu.Unlock()
	s.browser.connected.Add(1)
	if err != nil {
		return ua, err
	}
	s.browser.hellos.Add(1)
	if old != nil {
		old.c.Close(websocket.StatusNormalClosure, "another socket said hello for this uaid")
	}
	return ua, nil
}

// detach marks ua offline if sk is still its socket.
func (s *Server) detach(ua *userAgent, sk *socket) {
	ua.mu.Lock()
	if ua.sock == sk {
		ua.sock = nil
	}
	ua.mu.Unlock()
	s.browser.connected.Add(-1)
}

// BrowserHellos is how many hello messages browser sockets have sent.
// A test page must not call subscribe() before the first.
func (s *Server) BrowserHellos() int { return int(s.browser.hellos.Load()) }

// WaitBrowserHello blocks until at least n hellos were received or ctx is
// done.
func (s *Server) WaitBrowserHello(ctx context.Context, n int) error {
	if err := s.browser.hellos.Wait(ctx, uint64(max(n, 0))); err != nil {
		return fmt.Errorf("testpush: wait for %d browser hellos: %w", n, err)
	}
	return nil
}

// register creates a subscription for a channel and answers its endpoint.
func (s *Server) register(sk *socket, ua *userAgent, m clientMessage) error {
	reply := registerReply{MessageType: "register", ChannelID: m.ChannelID, UAID: ua.uaid}
	var key []byte
	var err error
	if m.Key != "" {
		key, err = webpush.DecodeBase64(m.Key)
		if err == nil {
			_, err = ecdh.P256().NewPublicKey(key)
		}
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	switch ch, ok := ua.channels[m.ChannelID]; {
	case m.ChannelID == "" || err != nil || s.base == "":
		reply.Status = http.StatusBadRequest
	case ok && !slices.Equal(ch.key, key):
		reply.Status = http.StatusConflict // autopush: same channel, other key
	case ok:
		reply.Status, reply.PushEndpoint = 200, s.endpointPrefix()+strconv.FormatUint(ch.sub, 10)
	default:
		ch = &channel{ua: ua, id: m.ChannelID, key: key}
		if ch.sub, err = s.subs.add(1, &receiver{appKey: key, channel: ch}); err != nil {
			reply.Status = http.StatusInternalServerError
			break
		}
		ua.channels[ch.id] = ch
		reply.Status, reply.PushEndpoint = 200, s.endpointPrefix()+strconv.FormatUint(ch.sub, 10)
	}
	return sk.write(reply)
}

// unregister ends a channel's subscription: later pushes get 410.
func (s *Server) unregister(sk *socket, ua *userAgent, channelID string) error {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if ch, ok := ua.channels[channelID]; ok {
		delete(ua.channels, channelID)
		s.subs.slot(ch.sub, false).gone.Store(true)
		ua.pending = slices.DeleteFunc(ua.pending, func(p *pendingMsg) bool { return p.channelID == channelID })
	}
	return sk.write(registerReply{MessageType: "unregister", Status: 200, ChannelID: channelID})
}

// ack forgets acknowledged notifications.
func (s *Server) ack(ua *userAgent, updates []ackUpdate) {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	for _, u := range updates {
		i := slices.IndexFunc(ua.pending, func(p *pendingMsg) bool {
			return p.channelID == u.ChannelID && p.version == u.Version
		})
		if i >= 0 {
			ua.pending = slices.Delete(ua.pending, i, i+1)
			s.acked.Add(1)
		}
	}
}

// forward queues an accepted push for its browser and sends it at once if
// the browser is connected. It fails only when the queue is full.
func (s *Server) forward(ch *channel, msg Message) error {
	ua := ch.ua
	ua.mu.Lock()
	defer ua.mu.Unlock()
	now := msg.Received
	s.dropExpired(ua, now)
	if ua.sock == nil && msg.TTL == 0 {
		// RFC 8030 section 5.2: a TTL of 0 is delivered only to a
		// connected user agent, and otherwise dropped, not refused.
		s.expired.Add(1)
		return nil
	}
	if msg.Topic != "" {
		n := len(ua.pending)
		ua.pending = slices.DeleteFunc(ua.pending, func(p *pendingMsg) bool {
			return !p.sent && p.channelID == ch.id && p.topic == msg.Topic
		})
		s.replaced.Add(uint64(n - len(ua.pending)))
	}
	if len(ua.pending) >= s.o.QueueLimit {
		return fmt.Errorf("browser %s has %d unacknowledged messages, the limit", ua.uaid, len(ua.pending))
	}
	ua.pending = append(ua.pending, &pendingMsg{
		channelID: ch.id,
		version:   msg.ID,
		topic:     msg.Topic,
		data:      base64.RawURLEncoding.EncodeToString(msg.Body),
		expires:   now.Add(time.Duration(msg.TTL) * time.Second),
	})
	if ua.sock != nil {
		s.flush(ua)
	}
	return nil
}

// dropExpired removes messages whose TTL ran out. ua.mu must be held.
func (s *Server) dropExpired(ua *userAgent, now time.Time) {
	n := len(ua.pending)
	ua.pending = slices.DeleteFunc(ua.pending, func(p *pendingMsg) bool { return !now.Before(p.expires) && !p.sent })
	s.expired.Add(uint64(n - len(ua.pending)))
}

// flush writes every unsent pending message to ua's socket. ua.mu must be
// held. A failed write leaves the rest pending for the next hello.
func (s *Server) flush(ua *userAgent) {
	s.dropExpired(ua, s.now())
	for _, p := range ua.pending {
		if p.sent {
			continue
		}
		n := notification{MessageType: "notification", ChannelID: p.channelID, Version: p.version}
		if p.data != "" {
			n.Data, n.Headers = p.data, map[string]string{"encoding": "aes128gcm"}
		}
		if err := ua.sock.write(n); err != nil {
			s.log.Debug("forward to browser", slog.String("uaid", ua.uaid), slog.Any("err", err))
			return
		}
		p.sent = true
		s.forwarded.Add(1)
	}
}
