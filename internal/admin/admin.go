package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/callback"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

// Store is what the UI reads of messages beyond the services in Deps.
type Store interface {
	Message(ctx context.Context, appID string, id int64) (store.Message, error)
	ListMessages(ctx context.Context, appID string, beforeID int64, limit int) ([]store.Message, error)
	CountAudience(ctx context.Context, appID string, a store.Audience) (int64, error)
	MessageTimeline(ctx context.Context, appID string, id int64) ([]store.TimelinePoint, error)
	store.Segments
}

// Canceller cancels a message that has not started (delivery.Engine).
type Canceller interface {
	Cancel(ctx context.Context, appID string, id int64) (store.Message, error)
}

// Deps are the services the UI drives. The UI holds no state of its own
// beyond sessions: everything it shows comes from them.
type Deps struct {
	Apps      *apps.Service
	Channels  *apps.Channels
	Registry  *registry.Service
	Send      *send.Service
	Store     Store
	Canceller Canceller
	Password  *Password
	Log       *slog.Logger
	// Callbacks sets apps' callback URLs; nil hides the form.
	Callbacks *callback.Service
}

// Options tune the UI; the zero value is ready to use.
type Options struct {
	// SessionIdle ends unused sessions; zero means DefaultSessionIdle.
	SessionIdle time.Duration
	// SessionMax ends every session this long after login; zero means
	// DefaultSessionMax.
	SessionMax time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// UI is the admin web UI. Mount it with Register.
type UI struct {
	d        Deps
	now      func() time.Time
	sessions *sessions
	limiter  *loginLimiter
	assets   *assets
	pages    map[string]*template.Template
	cop      *http.CrossOriginProtection
}

// New builds the UI. It panics if the embedded templates do not parse,
// which the package's tests rule out.
func New(d Deps, o Options) *UI {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = DefaultSessionIdle
	}
	if o.SessionMax <= 0 {
		o.SessionMax = DefaultSessionMax
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Password == nil {
		d.Password = &Password{}
	}
	a, err := loadAssets()
	if err != nil {
		panic(err)
	}
	u := &UI{d: d, now: o.Now, sessions: newSessions(o.SessionIdle, o.SessionMax, o.Now),
		limiter: newLoginLimiter(o.Now), assets: a, cop: http.NewCrossOriginProtection()}
	u.pages, err = parsePages(a)
	if err != nil {
		panic(err)
	}
	return u
}

// Register mounts the UI under /admin.
func (u *UI) Register(mux *http.ServeMux) {
	mux.Handle("GET /admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently))
	mux.Handle("GET /admin/{$}", u.page(u.home))
	mux.Handle("GET /admin/login", u.public(u.loginForm))
	mux.Handle("POST /admin/login", u.public(u.login))
	mux.Handle("POST /admin/logout", u.page(u.logout))
	mux.HandleFunc("GET /admin/static/{name}", u.assets.serve)
	mux.Handle("GET /admin/apps", u.page(u.appList))
	mux.Handle("POST /admin/apps", u.page(u.createApp))
	mux.Handle("GET /admin/apps/{app}", u.page(u.appOverview))
	mux.Handle("POST /admin/apps/{app}/rotate", u.page(u.rotate))
	mux.Handle("POST /admin/apps/{app}/fcm", u.page(u.setFCM))
	mux.Handle("POST /admin/apps/{app}/fcm/delete", u.page(u.deleteFCM))
	mux.Handle("POST /admin/apps/{app}/apns", u.page(u.setAPNs))
	mux.Handle("POST /admin/apps/{app}/apns/delete", u.page(u.deleteAPNs))
	mux.Handle("POST /admin/apps/{app}/callback", u.page(u.setCallback))
	mux.Handle("POST /admin/apps/{app}/callback/delete", u.page(u.deleteCallback))
	mux.Handle("GET /admin/apps/{app}/subscribers", u.page(u.subscribers))
	mux.Handle("GET /admin/apps/{app}/compose", u.page(u.compose))
	mux.Handle("POST /admin/apps/{app}/audience", u.api(u.audienceCount))
	mux.Handle("POST /admin/apps/{app}/messages", u.page(u.sendMessage))
	mux.Handle("GET /admin/apps/{app}/messages", u.page(u.messageList))
	mux.Handle("GET /admin/apps/{app}/messages/{id}", u.page(u.messagePage))
	mux.Handle("GET /admin/apps/{app}/messages/{id}/stats", u.api(u.messageStats))
	mux.Handle("GET /admin/apps/{app}/messages/{id}/chart", u.page(u.messageChart))
	mux.Handle("POST /admin/apps/{app}/messages/{id}/cancel", u.page(u.cancelMessage))
	mux.Handle("GET /admin/apps/{app}/segments", u.page(u.segments))
	mux.Handle("GET /admin/apps/{app}/segments/new", u.page(u.newSegment))
	mux.Handle("POST /admin/apps/{app}/segments", u.page(u.saveSegment))
	mux.Handle("POST /admin/apps/{app}/segments/count", u.api(u.segmentCount))
	mux.Handle("GET /admin/apps/{app}/segments/{name}/edit", u.page(u.editSegment))
	mux.Handle("POST /admin/apps/{app}/segments/{name}/edit", u.page(u.saveSegment))
	mux.Handle("POST /admin/apps/{app}/segments/{name}/delete", u.page(u.deleteSegment))
	mux.Handle("/admin/", u.public(func(w http.ResponseWriter, r *http.Request) error {
		return &httpError{status: http.StatusNotFound, msg: "There is no page at " + r.URL.Path + "."}
	}))
}

// httpError is an error page with a status and a message for the operator.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func notFound(what string) error {
	return &httpError{status: http.StatusNotFound, msg: what + " not found."}
}

// reqCtx is what an authenticated handler gets: the session and, on the
// /admin/apps/{app}/… pages, the app.
type reqCtx struct {
	sess session
	app  store.App
}

type handler func(w http.ResponseWriter, r *http.Request, c *reqCtx) error

// Request body limits: forms are small; an upload is a key file.
const (
	maxFormBytes   = 256 << 10
	maxUploadBytes = 128 << 10
)

// headers sets what every admin answer carries.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// public wraps a handler that needs no session (the login form).
func (u *UI) public(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		if r.Method == http.MethodPost {
			if err := u.cop.Check(r); err != nil {
				u.fail(w, r, false, &httpError{status: http.StatusForbidden, msg: "Cross-origin form posts are refused."})
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		if err := h(w, r); err != nil {
			u.fail(w, r, false, err)
		}
	})
}

// page wraps a handler of an HTML page that needs a session.
func (u *UI) page(h handler) http.Handler { return u.guard(false, h) }

// api wraps a handler of a JSON endpoint the pages' scripts call.
func (u *UI) api(h handler) http.Handler { return u.guard(true, h) }

// guard checks the password is set, the session, the CSRF token of a POST
// and the app named in the path, then runs h.
func (u *UI) guard(isJSON bool, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		fp, err := u.d.Password.Fingerprint()
		if errors.Is(err, ErrNoPassword) {
			u.locked(w, r)
			return
		}
		if err != nil {
			u.fail(w, r, isJSON, err)
			return
		}
		cookie, _ := r.Cookie(sessionCookie)
		var sess session
		ok := false
		if cookie != nil {
			sess, ok = u.sessions.get(cookie.Value)
			if ok && sess.fingerprint != fp {
				// The password changed since this login.
				u.sessions.delete(sess.id)
				ok = false
			}
		}
		if !ok {
			u.toLogin(w, r, isJSON, cookie != nil)
			return
		}
		if r.Method == http.MethodPost {
			if err := u.checkPost(w, r, sess); err != nil {
				u.fail(w, r, isJSON, err)
				return
			}
		}
		c := &reqCtx{sess: sess}
		if id := r.PathValue("app"); id != "" {
			c.app, err = u.d.Apps.App(r.Context(), id)
			if errors.Is(err, store.ErrNotFound) {
				u.fail(w, r, isJSON, notFound("App "+id))
				return
			}
			if err != nil {
				u.fail(w, r, isJSON, err)
				return
			}
		}
		if err := h(w, r, c); err != nil {
			u.fail(w, r, isJSON, err)
		}
	})
}

// checkPost refuses cross-origin posts and posts without the session's
// CSRF token (a form field, or a header from the pages' scripts).
func (u *UI) checkPost(w http.ResponseWriter, r *http.Request, sess session) error {
	forbidden := &httpError{status: http.StatusForbidden, msg: "This form has expired or did not come from this site. Go back, reload the page and try again."}
	if err := u.cop.Check(r); err != nil {
		return forbidden
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
		if err := r.ParseMultipartForm(maxUploadBytes); err != nil {
			return &httpError{status: http.StatusRequestEntityTooLarge, msg: "The upload is too large or malformed: a key file is a few KiB."}
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			return &httpError{status: http.StatusBadRequest, msg: "The form could not be read."}
		}
	}
	tok := r.PostFormValue("csrf")
	if tok == "" {
		tok = r.Header.Get("X-CSRF-Token")
	}
	if !sameToken(tok, sess.csrf) {
		return forbidden
	}
	return nil
}

// toLogin sends a caller without a live session to the login page.
func (u *UI) toLogin(w http.ResponseWriter, r *http.Request, isJSON, expired bool) {
	if expired {
		setCookie(w, r, sessionCookie, "", cookiePath, -1, http.SameSiteLaxMode)
	}
	if isJSON {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not logged in: your session has expired"})
		return
	}
	q := url.Values{}
	if r.Method == http.MethodGet {
		q.Set("next", r.URL.RequestURI())
	}
	if expired {
		q.Set("expired", "1")
	}
	target := "/admin/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// fail renders err: an *httpError as its page (or JSON), anything else as
// a 500 whose cause goes to the log only.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, isJSON bool, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		u.d.Log.ErrorContext(r.Context(), "admin request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		he = &httpError{status: http.StatusInternalServerError, msg: "Something went wrong on the server; its log has the cause."}
	}
	if isJSON {
		writeJSON(w, he.status, map[string]string{"error": he.msg})
		return
	}
	u.render(w, r, he.status, "error", view{Title: http.StatusText(he.status), Data: he.msg})
}

// locked is every page while no password is set.
func (u *UI) locked(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusServiceUnavailable, "locked", view{Title: "Admin UI locked"})
}

// view is what every page template gets.
type view struct {
	Title    string
	CSRF     string    // the session's token; empty when logged out
	App      store.App // the app the page is about; zero on global pages
	Section  string    // the nav entry to mark current
	Flash    string
	Error    string
	Data     any
	LoggedIn bool
}

// newView fills the session's parts of a page's view.
func (u *UI) newView(c *reqCtx, title, section string, data any) view {
	return view{Title: title, CSRF: c.sess.csrf, App: c.app, Section: section, Data: data, LoggedIn: true,
		Flash: u.sessions.takeFlash(c.sess.id)}
}

// render executes a page into a buffer, so a template error becomes a 500
// rather than half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := u.pages[name]
	if !ok {
		u.d.Log.ErrorContext(r.Context(), "admin: no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		u.d.Log.ErrorContext(r.Context(), "admin: render failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderFragment executes a named template alone (the chart, polled).
func (u *UI) renderFragment(w http.ResponseWriter, r *http.Request, page, name string, data any) {
	var buf bytes.Buffer
	if err := u.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		u.d.Log.ErrorContext(r.Context(), "admin: render failed", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// redirect answers a POST with 303 to a page, leaving a notice for it.
func (u *UI) redirect(w http.ResponseWriter, r *http.Request, c *reqCtx, to, flash string) error {
	if flash != "" {
		u.sessions.setFlash(c.sess.id, flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// appURL is the path of one of an app's pages.
func appURL(appID string, parts ...string) string {
	p := "/admin/apps/" + url.PathEscape(appID)
	for _, s := range parts {
		p += "/" + s
	}
	return p
}

func (u *UI) home(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	http.Redirect(w, r, "/admin/apps", http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-login redirect inside the admin UI.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/apps"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/admin/apps"
	}
	return next
}

// fmtErr makes an operator-facing message from a service error.
func fmtErr(err error) string {
	s := err.Error()
	for _, p := range []string{"apps: ", "registry: ", "send: ", "fcm: ", "apns: "} {
		s = strings.TrimPrefix(s, p)
	}
	if s == "" {
		return "Failed."
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
