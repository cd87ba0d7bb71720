package apnstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxPayload is the largest body accepted, as APNs does for alert and
// background notifications.
const MaxPayload = 4096

// Options configures a Server. The zero value checks everything, records
// nothing per notification and uses the real clock.
type Options struct {
	// Record keeps every accepted notification (headers, body, protocol)
	// for Notifications and Received. Without it only counters are kept,
	// so benchmarks can send millions in bounded memory.
	Record bool
	// CacheTokens verifies each distinct provider token's signature once
	// and remembers it, as a sender reuses one token for most of an hour;
	// iat is still checked on every request. For benchmarks, where ES256
	// verification would make the fake the bottleneck.
	CacheTokens bool
	// StrictTokenUpdates answers 429 TooManyProviderTokenUpdates to a new
	// token from a key that switched tokens less than 20 minutes ago while
	// its previous token is still good, which is what Apple asks
	// providers not to do. It catches senders that re-sign too eagerly.
	StrictTokenUpdates bool
	// Now is the clock for token ages and timestamps; nil is time.Now.
	// Share it with the client under test to move time without sleeping.
	Now func() time.Time
	// Logger receives the reason for every refused request; nil discards.
	Logger *slog.Logger
}

// Server is a fake APNs provider API on 127.0.0.1 over TLS and HTTP/2.
// All its methods are safe for concurrent use.
type Server struct {
	o   Options
	now func() time.Time
	log *slog.Logger
	ts  *httptest.Server

	keysMu    sync.RWMutex
	keys      map[string]*key // by key id
	topics    map[string]map[string]bool
	keyStates map[string]keyState
	nTokens   int
	nExpired  atomic.Int64 // keys with an expiredBefore, so the hot path can skip keysMu
	tokens    sync.Map     // jwt -> *seenToken
	bound     sync.Map     // device token -> topic

	faults faults

	requests atomic.Uint64
	accepted counter
	injected atomic.Uint64
	http2    atomic.Uint64
	verified atomic.Uint64
	rejected sync.Map // reason -> *atomic.Uint64

	recMu    sync.Mutex
	recorded []Notification

	done      chan struct{}
	closeOnce sync.Once
}

// Start serves a new fake APNs on 127.0.0.1 with a fresh self-signed
// certificate, speaking HTTP/2 (and HTTP/1.1 only to refuse it). Close it
// when done.
func Start(o Options) *Server {
	s := &Server{
		o:         o,
		now:       o.Now,
		log:       o.Logger,
		keys:      map[string]*key{},
		topics:    map[string]map[string]bool{},
		keyStates: map[string]keyState{},
		done:      make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.ts.EnableHTTP2 = true
	s.ts.Config.ErrorLog = log.New(io.Discard, "", 0) // clients that hang up mid-handshake are not news
	s.ts.StartTLS()
	return s
}

// URL is the base URL, https://127.0.0.1:PORT, for apns.Options.BaseURL.
func (s *Server) URL() string { return s.ts.URL }

// CertPool trusts the Server's certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.ts.Certificate())
	return p
}

// CertificatePEM is the Server's certificate in PEM, for a process that
// trusts it through a CA file (herald serve --ca-file).
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ts.Certificate().Raw})
}

// TLSConfig is a client TLS config that trusts the Server, for
// apns.Options.TLS.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
}

// Client returns an HTTP client that trusts the Server and speaks HTTP/2.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Close stops the Server; it is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ts.Close()
	})
}

// RegisterKey lets the key keyID of team teamID sign provider tokens, and
// lets the team push to topics (bundle ids). Registering a key id again
// replaces its public key.
func (s *Server) RegisterKey(teamID, keyID string, pub *ecdsa.PublicKey, topics ...string) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	s.keys[keyID] = &key{teamID: teamID, keyID: keyID, pub: pub}
	if s.topics[teamID] == nil {
		s.topics[teamID] = map[string]bool{}
	}
	for _, t := range topics {
		s.topics[teamID][t] = true
	}
	s.tokens.Clear() // tokens verified with the old key are not good any more
	s.nTokens = 0
}

// NewKey generates a P-256 key, registers it as RegisterKey does and
// returns it for the client under test.
func (s *Server) NewKey(teamID, keyID string, topics ...string) (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("apnstest: generate key: %w", err)
	}
	s.RegisterKey(teamID, keyID, &k.PublicKey, topics...)
	return k, nil
}

// ExpireTokensIssuedBefore makes the fake answer 403 ExpiredProviderToken
// to keyID's tokens whose iat is before t, as APNs does for tokens over an
// hour old, so a test can make a client's cached token expire without
// waiting an hour.
func (s *Server) ExpireTokensIssuedBefore(keyID string, t time.Time) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	ks := s.keyStates[keyID]
	if ks.expiredBefore.IsZero() {
		s.nExpired.Add(1)
	}
	ks.expiredBefore = t
	s.keyStates[keyID] = ks
}

// Tokens is how many distinct provider tokens signed by keyID were
// accepted: a client sharing one token well keeps it at one per refresh.
func (s *Server) Tokens(keyID string) int {
	s.keysMu.RLock()
	defer s.keysMu.RUnlock()
	return s.keyStates[keyID].distinct
}

// BindToken makes device token belong to topic: a push to it with another
// apns-topic is answered 400 DeviceTokenNotForTopic.
func (s *Server) BindToken(token, topic string) { s.bound.Store(token, topic) }

func (s *Server) key(keyID string) *key {
	s.keysMu.RLock()
	defer s.keysMu.RUnlock()
	return s.keys[keyID]
}

func (s *Server) topicAllowed(teamID, topic string) bool {
	s.keysMu.RLock()
	defer s.keysMu.RUnlock()
	return s.topics[teamID][topic]
}

// reject answers status with APNs' error body {"reason":...}, adding a
// timestamp to a 410, and counts it.
func (s *Server) reject(w http.ResponseWriter, status int, reason string, injected bool) {
	s.countReject(reason)
	if injected {
		s.injected.Add(1)
	}
	body := map[string]any{"reason": reason}
	if status == http.StatusGone {
		body["timestamp"] = s.now().UnixMilli()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// refuse logs why and rejects.
func (s *Server) refuse(w http.ResponseWriter, status int, reason, why string) {
	s.log.Debug("apnstest: refused", "status", status, "reason", reason, "why", why)
	s.reject(w, status, reason, false)
}

// devicePath is where notifications are posted.
const devicePath = "/3/device/"

// serve checks one request as APNs would, in roughly APNs' order, and
// accepts or refuses it.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.ProtoMajor != 2 {
		// APNs speaks only HTTP/2; this reason is the fake's own.
		s.refuse(w, http.StatusHTTPVersionNotSupported, "HTTP2Required", r.Proto)
		return
	}
	s.http2.Add(1)
	token, ok := strings.CutPrefix(r.URL.Path, devicePath)
	if !ok || strings.Contains(token, "/") {
		s.refuse(w, http.StatusNotFound, "BadPath", r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		s.refuse(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
		return
	}
	if token == "" {
		s.refuse(w, http.StatusBadRequest, "MissingDeviceToken", "empty token")
		return
	}
	if !validDeviceToken(token) {
		s.refuse(w, http.StatusBadRequest, "BadDeviceToken", "token is not 64 or more hex digits")
		return
	}
	for name, v := range r.Header {
		if len(v) > 1 && (strings.HasPrefix(name, "Apns-") || name == "Authorization") {
			s.refuse(w, http.StatusBadRequest, "DuplicateHeaders", name)
			return
		}
	}
	st, terr := s.checkToken(r.Header.Get("Authorization"))
	if terr != nil {
		s.refuse(w, terr.status, terr.reason, terr.err.Error())
		return
	}
	topic := r.Header.Get("Apns-Topic")
	switch {
	case topic == "":
		s.refuse(w, http.StatusBadRequest, "MissingTopic", "no apns-topic")
		return
	case !s.topicAllowed(st.key.teamID, topic):
		s.refuse(w, http.StatusBadRequest, "TopicDisallowed", fmt.Sprintf("team %s has no topic %q", st.key.teamID, topic))
		return
	}
	if b, ok := s.bound.Load(token); ok && b.(string) != topic {
		s.refuse(w, http.StatusBadRequest, "DeviceTokenNotForTopic", "token is bound to "+b.(string))
		return
	}
	if b := s.pickFault(token); b != nil && s.inject(w, r, b) {
		return
	}
	n, status, reason, why := s.parse(r, token, topic)
	if reason != "" {
		s.refuse(w, status, reason, why)
		return
	}
	n.TeamID, n.KeyID = st.key.teamID, st.key.keyID
	if s.o.Record {
		s.record(n)
	}
	w.Header().Set("apns-id", n.ID)
	w.WriteHeader(http.StatusOK)
	s.accepted.Add(1)
}

// parse checks the apns-* headers and the body and returns the
// notification, or the status and reason to refuse it with.
func (s *Server) parse(r *http.Request, token, topic string) (n Notification, status int, reason, why string) {
	h := r.Header
	n = Notification{Token: token, Topic: topic, Expiration: -1, CollapseID: h.Get("Apns-Collapse-Id"),
		Proto: r.Proto, ProtoMajor: r.ProtoMajor, Received: s.now()}
	n.PushType = h.Get("Apns-Push-Type")
	switch n.PushType {
	case "alert", "background", "voip", "complication", "fileprovider", "mdm", "location", "liveactivity", "pushtotalk":
	default:
		// APNs tolerates a missing push type from old providers; the
		// fake is stricter, since Herald always sends one.
		return n, http.StatusBadRequest, "InvalidPushType", fmt.Sprintf("apns-push-type %q", n.PushType)
	}
	if v := h.Get("Apns-Priority"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || (p != 1 && p != 5 && p != 10) {
			return n, http.StatusBadRequest, "BadPriority", "apns-priority " + v
		}
		n.Priority = p
	}
	if n.PushType == "background" && n.Priority == 10 {
		return n, http.StatusBadRequest, "BadPriority", "background push with priority 10"
	}
	if v := h.Get("Apns-Expiration"); v != "" {
		e, err := strconv.ParseInt(v, 10, 64)
		if err != nil || e < 0 {
			return n, http.StatusBadRequest, "BadExpirationDate", "apns-expiration " + v
		}
		n.Expiration = e
	}
	if len(n.CollapseID) > 64 {
		return n, http.StatusBadRequest, "BadCollapseId", fmt.Sprintf("apns-collapse-id is %d bytes", len(n.CollapseID))
	}
	n.ID = h.Get("Apns-Id")
	if n.ID == "" {
		n.ID = newUUID()
	} else if !validUUID(n.ID) {
		return n, http.StatusBadRequest, "BadMessageId", "apns-id " + n.ID
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	switch {
	case err != nil:
		return n, http.StatusBadRequest, "PayloadEmpty", "reading body: " + err.Error()
	case len(body) == 0:
		return n, http.StatusBadRequest, "PayloadEmpty", "empty body"
	case len(body) > MaxPayload:
		return n, http.StatusRequestEntityTooLarge, "PayloadTooLarge", "body over 4096 bytes"
	}
	if why := checkPayload(body, n.PushType); why != "" {
		// APNs documents no reason for a malformed payload; this one is
		// the fake's own.
		return n, http.StatusBadRequest, "BadPayload", why
	}
	n.Payload = body
	if s.o.Record {
		n.Header = h.Clone()
	}
	return n, 0, "", ""
}

// checkPayload says what is wrong with a body, or "": it must be a JSON
// object with an "aps" object; an alert needs something to show and a
// background push must say content-available 1 and show nothing.
func checkPayload(body []byte, pushType string) string {
	var p struct {
		APS *struct {
			Alert            json.RawMessage `json:"alert"`
			Sound            json.RawMessage `json:"sound"`
			Badge            json.RawMessage `json:"badge"`
			ContentAvailable int             `json:"content-available"`
		} `json:"aps"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return "body is not a JSON object with an aps object: " + err.Error()
	}
	if p.APS == nil {
		return "body has no aps object"
	}
	shows := p.APS.Alert != nil || p.APS.Sound != nil || p.APS.Badge != nil
	switch pushType {
	case "alert":
		if !shows {
			return "alert push with no alert, sound or badge"
		}
	case "background":
		if p.APS.ContentAvailable != 1 || shows {
			return "background push must have content-available 1 and no alert, sound or badge"
		}
	}
	return ""
}

func validDeviceToken(t string) bool {
	if len(t) < 64 || len(t)%2 != 0 || len(t) > 200 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isHex(t[i]) {
			return false
		}
	}
	return true
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
		} else if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// newUUID returns a random version 4 UUID in upper case, as APNs does.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}
