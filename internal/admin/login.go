package admin

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// loginCookieAge is how long a login form stays valid.
const loginCookieAge = time.Hour

type loginData struct {
	Next    string
	Token   string
	Notice  string
	Problem string
}

func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) error {
	if _, err := u.d.Password.Fingerprint(); errors.Is(err, ErrNoPassword) {
		u.locked(w, r)
		return nil
	}
	next := safeNext(r.URL.Query().Get("next"))
	if c, err := r.Cookie(sessionCookie); err == nil {
		if _, ok := u.sessions.get(c.Value); ok {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return nil
		}
	}
	d := loginData{Next: next}
	switch {
	case r.URL.Query().Has("expired"):
		d.Notice = "Your session has expired. Log in again."
	case r.URL.Query().Has("out"):
		d.Notice = "You are logged out."
	}
	u.showLogin(w, r, http.StatusOK, d)
	return nil
}

// showLogin renders the form with a fresh double-submit token: the same
// random value in a cookie and in the form. A cross-site page can make
// the browser post the form but cannot read or set the cookie.
func (u *UI) showLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	d.Token = randomToken()
	setCookie(w, r, loginCookie, d.Token, "/admin/login", loginCookieAge, http.SameSiteStrictMode)
	u.render(w, r, status, "login", view{Title: "Log in", Data: d})
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return &httpError{status: http.StatusBadRequest, msg: "The form could not be read."}
	}
	d := loginData{Next: safeNext(r.PostFormValue("next"))}
	c, _ := r.Cookie(loginCookie)
	if c == nil || !sameToken(c.Value, r.PostFormValue("token")) {
		d.Problem = "The login form had expired. Try again."
		u.showLogin(w, r, http.StatusForbidden, d)
		return nil
	}
	addr := clientAddr(r)
	if ok, wait := u.limiter.allow(addr); !ok {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		d.Problem = fmt.Sprintf("Too many failed logins. Try again in %d minutes.", (secs+59)/60)
		u.showLogin(w, r, http.StatusTooManyRequests, d)
		return nil
	}
	if !u.limiter.acquire(r) {
		return nil // the client went away
	}
	ok, fp, err := u.d.Password.Verify(r.PostFormValue("password"))
	u.limiter.release()
	if errors.Is(err, ErrNoPassword) {
		u.locked(w, r)
		return nil
	}
	if err != nil {
		return err
	}
	if !ok {
		u.limiter.fail(addr)
		u.d.Log.WarnContext(r.Context(), "admin login failed", "addr", addr)
		d.Problem = "That password is not right."
		u.showLogin(w, r, http.StatusUnauthorized, d)
		return nil
	}
	u.limiter.succeed(addr)
	// A new id at every login: an id planted before it is worth nothing.
	if old, err := r.Cookie(sessionCookie); err == nil {
		u.sessions.delete(old.Value)
	}
	s := u.sessions.create(fp)
	setCookie(w, r, sessionCookie, s.id, cookiePath, u.sessions.max, http.SameSiteLaxMode)
	setCookie(w, r, loginCookie, "", "/admin/login", -1, http.SameSiteStrictMode)
	u.d.Log.InfoContext(r.Context(), "admin login", "addr", addr)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	u.sessions.delete(c.sess.id)
	setCookie(w, r, sessionCookie, "", cookiePath, -1, http.SameSiteLaxMode)
	http.Redirect(w, r, "/admin/login?out=1", http.StatusSeeOther)
	return nil
}
