package fcmtest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldpush/herald/internal/fcm/fcmtest"
)

type account struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
	key          *rsa.PrivateKey
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func start(t *testing.T, o fcmtest.Options) (*fcmtest.Server, account) {
	t.Helper()
	srv, err := fcmtest.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, parseAccount(t, srv.ServiceAccount())
}

func parseAccount(t *testing.T, b []byte) account {
	t.Helper()
	var a account
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(a.PrivateKey))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	a.key = k.(*rsa.PrivateKey)
	return a
}

// claims returns a valid assertion's claims at now.
func claims(a account, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":   a.ClientEmail,
		"scope": fcmtest.Scope,
		"aud":   a.TokenURI,
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
	}
}

func sign(t *testing.T, a account, c jwt.MapClaims, edit func(*jwt.Token)) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = a.PrivateKeyID
	if edit != nil {
		edit(tok)
	}
	var key any = a.key
	if tok.Method == jwt.SigningMethodHS256 {
		key = []byte("secret")
	}
	if tok.Method == jwt.SigningMethodNone {
		key = jwt.UnsafeAllowNoneSignatureType
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
	Error       string `json:"error"`
}

func exchange(t *testing.T, uri string, form url.Values) (int, tokenAnswer) {
	t.Helper()
	resp, err := http.PostForm(uri, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a tokenAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, a
}

func accessToken(t *testing.T, srv *fcmtest.Server, a account, now time.Time) string {
	t.Helper()
	status, ans := exchange(t, a.TokenURI, url.Values{"grant_type": {fcmtest.GrantType}, "assertion": {sign(t, a, claims(a, now), nil)}})
	if status != 200 || ans.AccessToken == "" {
		t.Fatalf("token: %d %+v", status, ans)
	}
	return ans.AccessToken
}

func TestTokenEndpoint(t *testing.T) {
	srv, a := start(t, fcmtest.Options{})
	now := time.Now()
	status, ans := exchange(t, srv.TokenURI(), url.Values{"grant_type": {fcmtest.GrantType}, "assertion": {sign(t, a, claims(a, now), nil)}})
	if status != 200 || ans.AccessToken == "" || ans.TokenType != "Bearer" || ans.ExpiresIn != 3599 {
		t.Fatalf("valid assertion: %d %+v", status, ans)
	}
	if a.TokenURI != srv.URL()+"/token" || a.Type != "service_account" || a.ProjectID != fcmtest.DefaultProjectID {
		t.Errorf("account %+v", a)
	}

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(jwt.MapClaims)) jwt.MapClaims { c := claims(a, now); f(c); return c }
	tests := []struct {
		name      string
		grantType string
		assertion string
		want      string
	}{
		{"wrong grant type", "client_credentials", sign(t, a, claims(a, now), nil), "unsupported_grant_type"},
		{"no assertion", fcmtest.GrantType, "", "invalid_grant"},
		{"not a JWT", fcmtest.GrantType, "a.b.c", "invalid_grant"},
		{"another key", fcmtest.GrantType, sign(t, account{ClientEmail: a.ClientEmail, PrivateKeyID: a.PrivateKeyID, key: other}, claims(a, now), nil), "invalid_grant"},
		{"HS256", fcmtest.GrantType, sign(t, a, claims(a, now), func(tk *jwt.Token) { tk.Method = jwt.SigningMethodHS256; tk.Header["alg"] = "HS256" }), "invalid_grant"},
		{"alg none", fcmtest.GrantType, sign(t, a, claims(a, now), func(tk *jwt.Token) { tk.Method = jwt.SigningMethodNone; tk.Header["alg"] = "none" }), "invalid_grant"},
		{"wrong kid", fcmtest.GrantType, sign(t, a, claims(a, now), func(tk *jwt.Token) { tk.Header["kid"] = "other" }), "invalid_grant"},
		{"unknown iss", fcmtest.GrantType, sign(t, a, edit(func(c jwt.MapClaims) { c["iss"] = "x@y.iam" }), nil), "invalid_grant"},
		{"wrong aud", fcmtest.GrantType, sign(t, a, edit(func(c jwt.MapClaims) { c["aud"] = "https://oauth2.googleapis.com/token" }), nil), "invalid_grant"},
		{"two auds", fcmtest.GrantType, sign(t, a, edit(func(c jwt.MapClaims) { c["aud"] = []string{a.TokenURI, "https://x"} }), nil), "invalid_grant"},
		{"no scope", fcmtest.GrantType, sign(t, a, edit(func(c jwt.MapClaims) { delete(c, "scope") }), nil), "invalid_grant"},
		{"other scope", fcmtest.GrantType, sign(t, a, edit(func(c jwt.MapClaims) { c["scope"] = "https://www.googleapis.com/auth/cloud-platform" }), nil), "invalid_grant"},
		{"expired", fcmtest.GrantType, sign(t, a, edit(func(c jwt.MapClaims) {
			c["iat"] = now.Add(-2 * time.Hour).Unix()
			c["exp"] = now.Add(-time.Hour).Unix()
		}), nil), "invalid_grant"},
		{"no exp", fcmtest.GrantType, sign(t, a, edit(func(c jwt.MapClaims) { delete(c, "exp") }), nil), "invalid_grant"},
		{"no iat", fcmtest.GrantType, sign(t, a, edit(func(c jwt.MapClaims) { delete(c, "iat") }), nil), "invalid_grant"},
		{"too long-lived", fcmtest.GrantType, sign(t, a, edit(func(c jwt.MapClaims) { c["exp"] = now.Add(2 * time.Hour).Unix() }), nil), "invalid_grant"},
		{"issued in the future", fcmtest.GrantType, sign(t, a, edit(func(c jwt.MapClaims) {
			c["iat"] = now.Add(10 * time.Minute).Unix()
			c["exp"] = now.Add(time.Hour).Unix()
		}), nil), "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ans := exchange(t, srv.TokenURI(), url.Values{"grant_type": {tt.grantType}, "assertion": {tt.assertion}})
			if status != 400 || ans.Error != tt.want || ans.AccessToken != "" {
				t.Errorf("got %d %+v, want 400 %s", status, ans, tt.want)
			}
		})
	}
	if st := srv.Stats(); st.TokensIssued != 1 || st.TokensRefused != len(tests) {
		t.Errorf("stats %+v", st)
	}
}

// send posts body to the project's send endpoint with the access token.
func send(t *testing.T, srv *fcmtest.Server, project, token, contentType, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL()+"/v1/projects/"+project+"/messages:send", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("answer %q: %v", b, err)
		}
	}
	return resp.StatusCode, resp.Header, m
}

// errorCode returns the answer's error status and FCM error code.
func errorCode(m map[string]any) (string, string) {
	e, _ := m["error"].(map[string]any)
	status, _ := e["status"].(string)
	code := ""
	if ds, ok := e["details"].([]any); ok && len(ds) > 0 {
		d, _ := ds[0].(map[string]any)
		code, _ = d["errorCode"].(string)
	}
	return status, code
}

const jsonType = "application/json; charset=utf-8"

func TestSendEndpoint(t *testing.T) {
	clk := &clock{now: time.Now()}
	srv, a := start(t, fcmtest.Options{Now: clk.Now})
	tok := accessToken(t, srv, a, clk.Now())
	p := a.ProjectID

	status, _, ans := send(t, srv, p, tok, jsonType, `{"message":{"token":"dev1","notification":{"title":"hi"},"data":{"k":"v"},"android":{"ttl":"3.5s","priority":"HIGH"}}}`)
	if status != 200 || ans["name"] != "projects/"+p+"/messages/0:1" {
		t.Fatalf("valid send: %d %v", status, ans)
	}
	status, _, _ = send(t, srv, p, tok, jsonType, `{"validate_only":true,"message":{"token":"dev1"}}`)
	if status != 200 || srv.Deliveries("dev1") != 1 || len(srv.Messages()) != 0 {
		t.Errorf("validate_only: %d, deliveries %d, messages %d (Record is off)", status, srv.Deliveries("dev1"), len(srv.Messages()))
	}

	tests := []struct {
		name, project, token, ctype, body string
		status                            int
		rpc, code                         string
	}{
		{"no token", p, "", jsonType, `{"message":{"token":"d"}}`, 401, "UNAUTHENTICATED", ""},
		{"unknown token", p, "ya29.nope", jsonType, `{"message":{"token":"d"}}`, 401, "UNAUTHENTICATED", ""},
		{"other project", "someone-else", tok, jsonType, `{"message":{"token":"d"}}`, 403, "PERMISSION_DENIED", ""},
		{"form body", p, tok, "application/x-www-form-urlencoded", `message=x`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"not JSON", p, tok, jsonType, `{"message":`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"unknown field", p, tok, jsonType, `{"message":{"token":"d","notification":{"titel":"x"}}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"no target", p, tok, jsonType, `{"message":{"notification":{"title":"x"}}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"topic", p, tok, jsonType, `{"message":{"topic":"news"}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"two targets", p, tok, jsonType, `{"message":{"token":"d","topic":"news"}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"data not strings", p, tok, jsonType, `{"message":{"token":"d","data":{"n":1}}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"reserved data key", p, tok, jsonType, `{"message":{"token":"d","data":{"google.sent_time":"1"}}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"ttl without unit", p, tok, jsonType, `{"message":{"token":"d","android":{"ttl":"3600"}}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"ttl too long", p, tok, jsonType, `{"message":{"token":"d","android":{"ttl":"2419201s"}}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"bad priority", p, tok, jsonType, `{"message":{"token":"d","android":{"priority":"high"}}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"http link", p, tok, jsonType, `{"message":{"token":"d","webpush":{"fcm_options":{"link":"http://x/"}}}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"bad urgency", p, tok, jsonType, `{"message":{"token":"d","webpush":{"headers":{"Urgency":"now"}}}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"bad apns priority", p, tok, jsonType, `{"message":{"token":"d","apns":{"headers":{"apns-priority":"7"}}}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
		{"too big", p, tok, jsonType, `{"message":{"token":"d","data":{"k":"` + strings.Repeat("x", 4096) + `"}}}`, 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, ans := send(t, srv, tt.project, tt.token, tt.ctype, tt.body)
			rpc, code := errorCode(ans)
			if status != tt.status || rpc != tt.rpc || code != tt.code {
				t.Errorf("got %d %s %s, want %d %s %s (%v)", status, rpc, code, tt.status, tt.rpc, tt.code, ans)
			}
			if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
	if st := srv.Stats(); st.Accepted != 1 || st.Unauthorized != 2 || st.Invalid != len(tests)-2 {
		t.Errorf("stats %+v", st)
	}

	// Tokens expire with time, and early on demand.
	clk.Add(3599 * time.Second)
	if status, _, _ := send(t, srv, p, tok, jsonType, `{"message":{"token":"d"}}`); status != 401 {
		t.Errorf("expired token: %d", status)
	}
	tok2 := accessToken(t, srv, a, clk.Now())
	if status, _, _ := send(t, srv, p, tok2, jsonType, `{"message":{"token":"d"}}`); status != 200 {
		t.Errorf("fresh token: %d", status)
	}
	if n := srv.ExpireTokens(); n != 2 {
		t.Errorf("ExpireTokens = %d, want 2 (the lapsed one too)", n)
	}
	if status, _, _ := send(t, srv, p, tok2, jsonType, `{"message":{"token":"d"}}`); status != 401 {
		t.Errorf("token expired early: %d", status)
	}
}

func TestAccounts(t *testing.T) {
	srv, a := start(t, fcmtest.Options{})
	raw, err := srv.NewServiceAccount("second")
	if err != nil {
		t.Fatal(err)
	}
	b := parseAccount(t, raw)
	tokB := accessToken(t, srv, b, time.Now())
	if status, _, _ := send(t, srv, "second", tokB, jsonType, `{"message":{"token":"d"}}`); status != 200 {
		t.Errorf("second account, own project: %d", status)
	}
	if status, _, _ := send(t, srv, a.ProjectID, tokB, jsonType, `{"message":{"token":"d"}}`); status != 403 {
		t.Errorf("second account, first project: %d", status)
	}
	srv.RemoveAccount(b.ClientEmail)
	if status, _, _ := send(t, srv, "second", tokB, jsonType, `{"message":{"token":"d"}}`); status != 401 {
		t.Errorf("removed account's token: %d", status)
	}
	status, ans := exchange(t, b.TokenURI, url.Values{"grant_type": {fcmtest.GrantType}, "assertion": {sign(t, b, claims(b, time.Now()), nil)}})
	if status != 400 || ans.Error != "invalid_grant" {
		t.Errorf("removed account's assertion: %d %+v", status, ans)
	}
	accessToken(t, srv, a, time.Now()) // the first still works
}

func TestFailures(t *testing.T) {
	srv, a := start(t, fcmtest.Options{Record: true})
	tok := accessToken(t, srv, a, time.Now())
	p := a.ProjectID
	msg := func(dev string) string { return `{"message":{"token":"` + dev + `"}}` }

	srv.Fail("d1", fcmtest.FailNext(2, fcmtest.QuotaExceeded(1500*time.Millisecond)))
	for i, want := range []int{429, 429, 200} {
		status, h, ans := send(t, srv, p, tok, jsonType, msg("d1"))
		if status != want {
			t.Errorf("send %d: %d", i, status)
		}
		if status == 429 {
			if rpc, code := errorCode(ans); rpc != "RESOURCE_EXHAUSTED" || code != "QUOTA_EXCEEDED" || h.Get("Retry-After") != "2" {
				t.Errorf("429: %s %s Retry-After %q", rpc, code, h.Get("Retry-After"))
			}
		}
	}
	srv.Fail("d2", fcmtest.Unregistered())
	if status, _, ans := send(t, srv, p, tok, jsonType, msg("d2")); status != 404 {
		t.Errorf("unregistered: %d %v", status, ans)
	} else if rpc, code := errorCode(ans); rpc != "NOT_FOUND" || code != "UNREGISTERED" {
		t.Errorf("unregistered: %s %s", rpc, code)
	}
	srv.Recover("d2")
	if status, _, _ := send(t, srv, p, tok, jsonType, msg("d2")); status != 200 {
		t.Errorf("recovered: %d", status)
	}

	srv.FailAll(fcmtest.Behavior{Status: 502, Bare: true, Times: 1})
	if status, _, ans := send(t, srv, p, "not even a token", jsonType, msg("d3")); status != 502 || ans != nil {
		t.Errorf("FailAll applies before auth, bare: %d %v", status, ans)
	}
	if status, _, _ := send(t, srv, p, tok, jsonType, msg("d3")); status != 200 {
		t.Errorf("after FailAll's one time: %d", status)
	}

	srv.FailTokenEndpoint(fcmtest.FailNext(1, fcmtest.Behavior{Status: 503}))
	if status, _ := exchangeStatus(t, a); status != 503 {
		t.Errorf("token endpoint failure: %d", status)
	}
	if status, _ := exchangeStatus(t, a); status != 200 {
		t.Errorf("token endpoint after its failure: %d", status)
	}

	if got := srv.Received("d1"); len(got) != 1 || got[0].Token != "d1" || got[0].Project != p || len(got[0].Body) == 0 || got[0].At.IsZero() {
		t.Errorf("Received(d1) = %+v", got)
	}
	if st := srv.Stats(); st.Injected != 4 || st.Accepted != 3 {
		t.Errorf("stats %+v", st)
	}
}

func exchangeStatus(t *testing.T, a account) (int, string) {
	t.Helper()
	resp, err := http.PostForm(a.TokenURI, url.Values{"grant_type": {fcmtest.GrantType}, "assertion": {sign(t, a, claims(a, time.Now()), nil)}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWaitAndGate(t *testing.T) {
	srv, a := start(t, fcmtest.Options{})
	tok := accessToken(t, srv, a, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	if err := srv.WaitCount(short, 1); err == nil {
		t.Errorf("WaitCount with nothing sent and an ended context returned nil")
	}

	gate := make(chan struct{})
	srv.FailAll(fcmtest.Behavior{Gate: gate})
	const n = 5
	done := make(chan int, n)
	for range n {
		go func() {
			status, _, _ := send(t, srv, a.ProjectID, tok, jsonType, `{"message":{"token":"g"}}`)
			done <- status
		}()
	}
	if err := srv.WaitRequests(ctx, n); err != nil {
		t.Fatal(err)
	}
	if c := srv.Count(); c != 0 {
		t.Errorf("%d accepted while held", c)
	}
	srv.RecoverAll()
	close(gate)
	if err := srv.WaitCount(ctx, n); err != nil {
		t.Fatal(err)
	}
	for range n {
		if s := <-done; s != 200 {
			t.Errorf("held send: %d", s)
		}
	}
	if d := srv.Deliveries("g"); d != n {
		t.Errorf("deliveries %d", d)
	}
}

func TestHTTP2(t *testing.T) {
	srv, a := start(t, fcmtest.Options{})
	tok := accessToken(t, srv, a, time.Now())
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1/projects/"+a.ProjectID+"/messages:send", strings.NewReader(`{"message":{"token":"d"}}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Errorf("%d over %s", resp.StatusCode, resp.Proto)
	}
}
