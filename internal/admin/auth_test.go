package admin

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLockedWithoutPassword(t *testing.T) {
	r := newRig(t, &Password{file: filepath.Join(t.TempDir(), PasswordFile)})
	for _, p := range []string{"/admin/apps", "/admin/login"} {
		res := r.get(p)
		if res.Status != http.StatusServiceUnavailable || !strings.Contains(res.Body, "herald admin set-password") {
			t.Errorf("GET %s with no password set: %d, want 503 and how to set one:\n%s", p, res.Status, res.Body)
		}
	}
}

func TestLogin(t *testing.T) {
	r := newRig(t, nil)
	res := r.get("/admin/apps")
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/admin/login?next=%2Fadmin%2Fapps" {
		t.Fatalf("logged out, /admin/apps: %d to %q; want 303 to the login page", res.Status, res.Header.Get("Location"))
	}
	r.login()
	if res := r.get("/admin/apps"); res.Status != http.StatusOK || !strings.Contains(res.Body, "Create an app") {
		t.Fatalf("logged in, /admin/apps: %d", res.Status)
	}
	// The login page sends a logged-in operator on.
	if res := r.get("/admin/login?next=/admin/apps/x"); res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/admin/apps/x" {
		t.Errorf("logged in, /admin/login: %d to %q", res.Status, res.Header.Get("Location"))
	}
}

func TestWrongPassword(t *testing.T) {
	r := newRig(t, nil)
	res := r.tryLogin("not the password at all")
	if res.Status != http.StatusUnauthorized || !strings.Contains(res.Body, "not right") {
		t.Fatalf("wrong password: %d, want 401 saying so:\n%s", res.Status, res.Body)
	}
	if res := r.get("/admin/apps"); res.Status != http.StatusSeeOther {
		t.Fatalf("after a wrong password, /admin/apps: %d, want a redirect to the login", res.Status)
	}
	u, _ := url.Parse(r.URL + "/admin/")
	for _, c := range r.client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			t.Errorf("a wrong password set a session cookie")
		}
	}
}

func TestLoginFormNeedsItsToken(t *testing.T) {
	r := newRig(t, nil)
	// No login cookie at all: a form posted from elsewhere.
	res := r.post("/admin/login", url.Values{"token": {"forged"}, "password": {testPassword}})
	if res.Status != http.StatusForbidden {
		t.Errorf("login without the form's cookie: %d, want 403", res.Status)
	}
	// The cookie, but another token.
	r.get("/admin/login")
	res = r.post("/admin/login", url.Values{"token": {"forged"}, "password": {testPassword}})
	if res.Status != http.StatusForbidden {
		t.Errorf("login with a token that is not the cookie's: %d, want 403", res.Status)
	}
	if res := r.get("/admin/apps"); res.Status != http.StatusSeeOther {
		t.Errorf("a refused login logged in: /admin/apps %d", res.Status)
	}
}

func TestCSRFRefused(t *testing.T) {
	r := newRig(t, nil)
	csrf := r.login()
	for _, c := range []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"no token", url.Values{"name": {"Evil"}}, nil},
		{"wrong token", url.Values{"name": {"Evil"}, "csrf": {"x" + csrf}}, nil},
		{"another session's token", url.Values{"name": {"Evil"}, "csrf": {randomToken()}}, nil},
		{"cross-site, right token", url.Values{"name": {"Evil"}, "csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"other origin, right token", url.Values{"name": {"Evil"}, "csrf": {csrf}}, []string{"Origin", "https://evil.example"}},
	} {
		res := r.post("/admin/apps", c.form, c.hdr...)
		if res.Status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", c.name, res.Status)
		}
	}
	if list, _ := r.apps.List(t.Context()); len(list) != 0 {
		t.Fatalf("a refused post created %d apps", len(list))
	}
	// The JSON endpoint takes the token in a header too, and refuses without it.
	app := r.newApp("A")
	if res := r.post("/admin/apps/"+app.ID+"/audience", url.Values{"target": {"all"}}); res.Status != http.StatusForbidden {
		t.Errorf("audience count without a token: %d", res.Status)
	}
	if res := r.post("/admin/apps/"+app.ID+"/audience", url.Values{"target": {"all"}}, "X-CSRF-Token", csrf); res.Status != http.StatusOK {
		t.Errorf("audience count with the header token: %d %s", res.Status, res.Body)
	}
	// Logout is a POST too.
	if res := r.post("/admin/logout", nil); res.Status != http.StatusForbidden {
		t.Errorf("logout without a token: %d", res.Status)
	}
	if res := r.post("/admin/apps", url.Values{"name": {"Good"}, "csrf": {csrf}}); res.Status != http.StatusCreated {
		t.Errorf("with the token: %d, want 201", res.Status)
	}
}

func TestSessionExpiry(t *testing.T) {
	r := newRig(t, nil)
	r.login()
	r.clock.Add(DefaultSessionIdle - time.Minute)
	if res := r.get("/admin/apps"); res.Status != http.StatusOK {
		t.Fatalf("used within the idle time: %d", res.Status)
	}
	r.clock.Add(DefaultSessionIdle)
	res := r.get("/admin/apps")
	if res.Status != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "expired=1") {
		t.Fatalf("idle too long: %d to %q, want 303 to the login saying it expired", res.Status, res.Header.Get("Location"))
	}
	if res := r.get(res.Header.Get("Location")); !strings.Contains(res.Body, "session has expired") {
		t.Errorf("the login page does not say the session expired")
	}
	// The JSON endpoints answer 401.
	app := r.newApp("A")
	if res := r.get("/admin/apps/" + app.ID + "/messages/1/stats"); res.Status != http.StatusUnauthorized {
		t.Errorf("stats with no session: %d, want 401", res.Status)
	}

	// A session in use still ends at its maximum age.
	r.login()
	for elapsed := time.Duration(0); elapsed < DefaultSessionMax-time.Hour; elapsed += 50 * time.Minute {
		r.clock.Add(50 * time.Minute)
		if res := r.get("/admin/apps"); res.Status != http.StatusOK {
			t.Fatalf("in use, %v after login: %d", elapsed, res.Status)
		}
	}
	r.clock.Add(time.Hour)
	if res := r.get("/admin/apps"); res.Status != http.StatusSeeOther {
		t.Fatalf("past the maximum age: %d, want a redirect to the login", res.Status)
	}
}

func TestLogout(t *testing.T) {
	r := newRig(t, nil)
	csrf := r.login()
	res := r.post("/admin/logout", url.Values{"csrf": {csrf}})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/admin/login?out=1" {
		t.Fatalf("logout: %d to %q", res.Status, res.Header.Get("Location"))
	}
	if res := r.get("/admin/apps"); res.Status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", res.Status)
	}
}

func TestPasswordChangeEndsSessions(t *testing.T) {
	dir := t.TempDir()
	if err := WritePasswordFile(dir, testPassword); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, PasswordFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v, mode %v; want 0600", err, info.Mode())
	}
	pw, err := NewPassword("", dir)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, pw)
	r.login()
	if err := WritePasswordFile(dir, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if res := r.get("/admin/apps"); res.Status != http.StatusSeeOther {
		t.Fatalf("after the password changed: %d, want the session ended", res.Status)
	}
	if res := r.tryLogin(testPassword); res.Status != http.StatusUnauthorized {
		t.Fatalf("the old password: %d, want 401", res.Status)
	}
	if res := r.tryLogin("a brand new password"); res.Status != http.StatusSeeOther {
		t.Fatalf("the new password: %d, want a login", res.Status)
	}
}

func TestLoginRateLimit(t *testing.T) {
	r := newRig(t, nil)
	for i := range loginPerAddr {
		if res := r.tryLogin("wrong " + strconv.Itoa(i)); res.Status != http.StatusUnauthorized {
			t.Fatalf("try %d: %d", i, res.Status)
		}
	}
	res := r.tryLogin(testPassword)
	if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d failures, the right password: %d (Retry-After %q), want 429", loginPerAddr, res.Status, res.Header.Get("Retry-After"))
	}
	r.clock.Add(loginWindow + time.Second)
	r.login()
}

func TestLoginLimitTotal(t *testing.T) {
	l := newLoginLimiter(time.Now)
	for i := range loginTotal {
		addr := "10.0.0." + strconv.Itoa(i)
		if ok, _ := l.allow(addr); !ok {
			t.Fatalf("failure %d refused early", i)
		}
		l.fail(addr)
	}
	if ok, wait := l.allow("10.9.9.9"); ok || wait <= 0 {
		t.Fatalf("after %d failures from many addresses, a new one is allowed (%v, %v)", loginTotal, ok, wait)
	}
}

func TestCookies(t *testing.T) {
	r := newRig(t, nil)
	post := func(hdr ...string) *http.Cookie {
		r.client = newClient()
		form := r.get("/admin/login")
		req, _ := http.NewRequest("POST", r.URL+"/admin/login", strings.NewReader(url.Values{"token": {r.find(tokenRE, form.Body)}, "password": {testPassword}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := r.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		for _, c := range res.Cookies() {
			if c.Name == sessionCookie {
				return c
			}
		}
		t.Fatalf("login %d set no session cookie", res.StatusCode)
		return nil
	}
	c := post()
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/admin" || c.Secure || len(c.Value) < 43 {
		t.Errorf("session cookie over plain HTTP: %+v; want HttpOnly, SameSite=Lax, Path=/admin, not Secure, 256 bits", c)
	}
	if c := post("X-Forwarded-Proto", "https"); !c.Secure {
		t.Errorf("session cookie behind a TLS proxy is not Secure")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/apps/x":            "/admin/apps/x",
		"/admin/apps/x?tag=a":      "/admin/apps/x?tag=a",
		"":                         "/admin/apps",
		"https://evil.example/":    "/admin/apps",
		"//evil.example/admin/":    "/admin/apps",
		"/admin/\\evil":            "/admin/apps",
		"/v1/app":                  "/admin/apps",
		"/admin/x\r\nSet-Cookie:a": "/admin/apps",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h := cheapHash(testPassword)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if ok, err := verifyHash(h, testPassword); !ok || err != nil {
		t.Errorf("the right password: %v, %v", ok, err)
	}
	if ok, err := verifyHash(h, testPassword+"x"); ok || err != nil {
		t.Errorf("a wrong password: %v, %v", ok, err)
	}
	if h == cheapHash(testPassword) {
		t.Errorf("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=64,t=1,p=1$!$!"} {
		if _, err := verifyHash(bad, testPassword); err == nil {
			t.Errorf("hash %q accepted", bad)
		}
	}
	for pw, ok := range map[string]bool{"short": false, "twelve chars": true, strings.Repeat("x", MaxPasswordLen+1): false, "\xff\xfe invalid utf8": false} {
		if err := CheckPassword(pw); (err == nil) != ok {
			t.Errorf("CheckPassword(%.20q) = %v", pw, err)
		}
	}
	if _, err := NewPassword("short", t.TempDir()); err == nil {
		t.Errorf("NewPassword took a short password")
	}
}
