package fcmtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultProjectID is the project of the account ServiceAccount returns.
	DefaultProjectID = "herald-test"
	// DefaultTokenLifetime is Options.TokenLifetime when it is zero: what
	// Google gives (expires_in 3599).
	DefaultTokenLifetime = 3599 * time.Second
	// TokenPath is where the token endpoint is served.
	TokenPath = "/token"
	// keyBits is the size of the accounts' RSA keys, as Google's.
	keyBits = 2048
	// readHeaderTimeout keeps a stuck client from holding a connection.
	readHeaderTimeout = 10 * time.Second
)

// Options configure a Server. The zero value verifies everything and
// records nothing per message.
type Options struct {
	// Record keeps every accepted message for Messages and Received.
	// Without it only counters and one count per device token are kept,
	// so benchmarks can send millions of messages in bounded memory.
	Record bool
	// TokenLifetime is the expires_in of issued access tokens; zero means
	// DefaultTokenLifetime. A lifetime shorter than the client's early
	// expiry makes it fetch a token for every send.
	TokenLifetime time.Duration
	// Now is the clock for assertion and token expiry; nil is time.Now.
	// golang.org/x/oauth2 dates its assertions on the real clock.
	Now func() time.Time
}

// Server is a fake FCM HTTP v1 service and OAuth 2.0 token endpoint on
// 127.0.0.1. All its methods are safe for concurrent use.
type Server struct {
	o    Options
	now  func() time.Time
	ln   net.Listener
	hs   *http.Server
	base string
	done chan struct{}

	closeOnce sync.Once

	amu      sync.RWMutex
	accounts map[string]*account // by client_email
	first    []byte              // the default account's JSON

	tokens  sync.Map // access token -> *issued
	tokSeq  atomic.Uint64
	msgSeq  atomic.Uint64
	perTok  sync.Map // device token -> *atomic.Uint64
	rmu     sync.Mutex
	records []Message

	tokenRequests counter
	tokensIssued  atomic.Uint64
	tokensRefused atomic.Uint64
	requests      counter
	accepted      counter
	unauthorized  atomic.Uint64
	invalid       atomic.Uint64
	injected      atomic.Uint64

	faults faults
}

// account is a service account the Server issued and trusts.
type account struct {
	email     string
	projectID string
	keyID     string
	pub       *rsa.PublicKey
}

// issued is an access token the Server handed out.
type issued struct {
	acct    *account
	expires time.Time
	revoked atomic.Bool
}

// Start serves a new Server on 127.0.0.1 on a free port, with one
// service account (ServiceAccount) in project DefaultProjectID. It serves
// HTTP/1.1 and cleartext HTTP/2 (h2c).
func Start(o Options) (*Server, error) {
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fcmtest: listen: %w", err)
	}
	s := &Server{o: o, now: now, ln: ln, base: "http://" + ln.Addr().String(), done: make(chan struct{}), accounts: map[string]*account{}}
	first, err := s.NewServiceAccount(DefaultProjectID)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.first = first
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+TokenPath, s.handleToken)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", s.handleSend)
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	s.hs = &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, Protocols: &p}
	go s.hs.Serve(ln)
	return s, nil
}

// URL is the Server's base URL (http://127.0.0.1:PORT): fcm.Options.BaseURL.
func (s *Server) URL() string { return s.base }

// TokenURI is the token endpoint, the token_uri of the Server's accounts.
func (s *Server) TokenURI() string { return s.base + TokenPath }

// Client returns an HTTP client that speaks cleartext HTTP/2 to the
// Server, like a client of real FCM speaks HTTP/2 over TLS.
func (s *Server) Client() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

// Close stops the Server, ending requests held by Behavior.Delay or Gate.
func (s *Server) Close() error {
	first := false
	s.closeOnce.Do(func() { close(s.done); first = true })
	if !first {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.hs.Shutdown(ctx); err != nil {
		return s.hs.Close()
	}
	return nil
}

// ServiceAccount returns the JSON key file of the Server's first account
// (project DefaultProjectID), whose token_uri is TokenURI.
func (s *Server) ServiceAccount() []byte { return append([]byte(nil), s.first...) }

// NewServiceAccount makes another account, with a fresh RSA key, in
// project projectID, and returns its JSON key file. The Server trusts it
// from then on; its tokens may send only to its own project.
func (s *Server) NewServiceAccount(projectID string) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("fcmtest: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("fcmtest: encode key: %w", err)
	}
	n := s.tokSeq.Add(1)
	a := &account{
		email:     fmt.Sprintf("herald-%d@%s.iam.gserviceaccount.com", n, projectID),
		projectID: projectID,
		keyID:     randomHex(20),
		pub:       &key.PublicKey,
	}
	b, err := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  projectID,
		"private_key_id":              a.keyID,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                a.email,
		"client_id":                   fmt.Sprintf("1000%d", n),
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   s.TokenURI(),
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("fcmtest: encode account: %w", err)
	}
	s.amu.Lock()
	s.accounts[a.email] = a
	s.amu.Unlock()
	return b, nil
}

// RemoveAccount stops trusting the account with this client_email, as
// Google does once an account or its key is deleted: its assertions are
// refused (invalid_grant) and the tokens it was given stop working.
func (s *Server) RemoveAccount(email string) {
	s.amu.Lock()
	delete(s.accounts, email)
	s.amu.Unlock()
	s.tokens.Range(func(_, v any) bool {
		if t := v.(*issued); t.acct.email == email {
			t.revoked.Store(true)
		}
		return true
	})
}

func (s *Server) account(email string) (*account, bool) {
	s.amu.RLock()
	defer s.amu.RUnlock()
	a, ok := s.accounts[email]
	return a, ok
}

// ExpireTokens makes every access token issued so far invalid before its
// time, as Google may, and returns how many there were. The next send
// with one is answered 401 UNAUTHENTICATED.
func (s *Server) ExpireTokens() int {
	n := 0
	s.tokens.Range(func(_, v any) bool {
		if v.(*issued).revoked.CompareAndSwap(false, true) {
			n++
		}
		return true
	})
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
