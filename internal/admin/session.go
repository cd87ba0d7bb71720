package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Session defaults.
const (
	// DefaultSessionIdle ends a session nobody has used for this long.
	DefaultSessionIdle = time.Hour
	// DefaultSessionMax ends every session this long after the login,
	// used or not: a stolen cookie is not good forever.
	DefaultSessionMax = 12 * time.Hour
	// maxSessions bounds memory; past it the oldest session is dropped.
	maxSessions = 1000
)

// Cookie names. Both are scoped to the admin UI's path.
const (
	sessionCookie = "herald_admin"
	loginCookie   = "herald_admin_login" // the login form's double-submit token
	cookiePath    = "/admin"
)

// session is one logged-in operator.
type session struct {
	id          string // the cookie value; the map is keyed by its hash
	csrf        string
	created     time.Time
	seen        time.Time
	fingerprint string // of the password hash at login
	flash       string // a one-shot notice for the next page
}

// sessions holds the logged-in sessions in memory.
type sessions struct {
	mu   sync.Mutex
	m    map[[32]byte]*session
	idle time.Duration
	max  time.Duration
	now  func() time.Time
}

func newSessions(idle, max time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[[32]byte]*session{}, idle: idle, max: max, now: now}
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func key(id string) [32]byte { return sha256.Sum256([]byte(id)) }

// create starts a session for a login made under the password with
// fingerprint fp.
func (s *sessions) create(fp string) *session {
	now := s.now()
	ss := &session{id: randomToken(), csrf: randomToken(), created: now, seen: now, fingerprint: fp}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxSessions {
		s.pruneLocked(now)
	}
	if len(s.m) >= maxSessions {
		var oldest [32]byte
		var t time.Time
		for k, v := range s.m {
			if t.IsZero() || v.created.Before(t) {
				oldest, t = k, v.created
			}
		}
		delete(s.m, oldest)
	}
	s.m[key(ss.id)] = ss
	return ss
}

// get returns a copy of the live session with this id, marking it used,
// or false if there is none or it has expired (it is then removed).
func (s *sessions) get(id string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	now := s.now()
	k := key(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[k]
	if !ok {
		return session{}, false
	}
	if s.expired(ss, now) {
		delete(s.m, k)
		return session{}, false
	}
	ss.seen = now
	return *ss, true
}

// takeFlash returns and clears the session's notice.
func (s *sessions) takeFlash(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[key(id)]
	if !ok {
		return ""
	}
	f := ss.flash
	ss.flash = ""
	return f
}

// setFlash leaves a notice for the session's next page.
func (s *sessions) setFlash(id, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.m[key(id)]; ok {
		ss.flash = msg
	}
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key(id))
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.seen) >= s.idle || now.Sub(ss.created) >= s.max
}

func (s *sessions) pruneLocked(now time.Time) {
	for k, ss := range s.m {
		if s.expired(ss, now) {
			delete(s.m, k)
		}
	}
}

// secureRequest says whether the client reached Herald over TLS, directly
// or through a proxy that says so. A wrong X-Forwarded-Proto can only make
// the browser withhold the cookie, never send it in clear.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// setCookie sets an admin cookie; maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge time.Duration, same http.SameSite) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, SameSite: same, Secure: secureRequest(r)}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

// sameToken compares two tokens in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
