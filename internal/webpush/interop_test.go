package webpush

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests hold Herald against independent implementations: the npm
// packages http_ece (Mozilla's reference aes128gcm code), web-push and
// jose, pinned in interop/package-lock.json. They never skip: a machine
// without them fails and says how to install them.

// runNode runs interop/<script>.js with {"cases": cases} on stdin and
// returns one raw JSON result per case.
func runNode[C any](t *testing.T, script string, cases []C) []json.RawMessage {
	t.Helper()
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "interop", "node_modules")); err != nil {
		t.Fatalf("interop/node_modules is missing (%v): run scripts/install-test-deps", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed (%v): run scripts/install-test-deps", err)
	}
	in, err := json.Marshal(map[string]any{"cases": cases})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("interop", script+".js"))
	cmd.Dir = root
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node interop/%s.js: %v\nstderr:\n%s", script, err, stderr.String())
	}
	var out struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node interop/%s.js printed %q: %v", script, stdout.String(), err)
	}
	if len(out.Results) != len(cases) {
		t.Fatalf("node interop/%s.js answered %d cases of %d", script, len(out.Results), len(cases))
	}
	return out.Results
}

// decodeResult unmarshals one result into v and reports ok and error.
func decodeResult(t *testing.T, raw json.RawMessage, v any) (ok bool, errText string) {
	t.Helper()
	var r struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	return r.OK, r.Error
}

// repoRoot walks up from the test's directory to the one holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func TestInteropHTTPECEDecryptsHerald(t *testing.T) {
	ua := newUserAgent(t)
	type eceCase struct {
		Body      string `json:"body"`
		UAPrivate string `json:"uaPrivate"`
		Auth      string `json:"auth"`
		want      []byte
		tampered  bool
		name      string
	}
	var cases []eceCase
	add := func(name string, msg []byte, o EncryptOptions) []byte {
		body, err := Encrypt(msg, ua.priv.PublicKey(), ua.auth, o)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, eceCase{EncodeBase64(body), EncodeBase64(ua.priv.Bytes()), EncodeBase64(ua.auth), msg, false, name})
		return body
	}
	add("200 bytes", payload200(), EncryptOptions{})
	add("empty", nil, EncryptOptions{})
	add("padded", []byte("short"), EncryptOptions{Pad: 500})
	largest := add("largest", bytes.Repeat([]byte{0xa5}, MaxPlaintext), EncryptOptions{})
	tight := []byte("the record size is only as big as this record")
	add("tight record size", tight, EncryptOptions{RecordSize: uint32(len(tight) + 1 + tagLen)})

	// Tampered copies of the largest body: one flipped bit in the salt, the
	// server key, the ciphertext and the tag.
	tampered := map[string]int{"salt": 3, "server key": 40, "ciphertext": 2000, "tag": len(largest) - 1}
	for name, i := range tampered {
		bad := bytes.Clone(largest)
		bad[i] ^= 0x10
		cases = append(cases, eceCase{EncodeBase64(bad), EncodeBase64(ua.priv.Bytes()), EncodeBase64(ua.auth), nil, true, "tampered " + name})
	}

	results := runNode(t, "ece-decrypt", cases)
	for i, c := range cases {
		var r struct {
			Plaintext string `json:"plaintext"`
		}
		ok, errText := decodeResult(t, results[i], &r)
		if c.tampered {
			if ok {
				t.Errorf("%s: http_ece decrypted a tampered body", c.name)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: http_ece cannot decrypt Herald's body: %s", c.name, errText)
			continue
		}
		if got := b64(t, r.Plaintext); !bytes.Equal(got, c.want) {
			t.Errorf("%s: http_ece decrypted %d bytes that differ from the payload", c.name, len(got))
		}
	}
}

func TestInteropHeraldDecryptsHTTPECE(t *testing.T) {
	ua := newUserAgent(t)
	type encCase struct {
		Plaintext string `json:"plaintext"`
		UAPublic  string `json:"uaPublic"`
		Auth      string `json:"auth"`
		RS        int    `json:"rs"`
		Pad       int    `json:"pad"`
	}
	msg := []byte(strings.Repeat("When I grow up, I want to be a watermelon. ", 20))
	cases := []encCase{
		{RS: 4096},
		{RS: 4096, Pad: 100},
		{RS: 100},         // ten records
		{RS: 25, Pad: 30}, // many tiny records, padding spread over several
		{RS: 18 + 40, Pad: 0},
	}
	for i := range cases {
		cases[i].Plaintext = EncodeBase64(msg)
		cases[i].UAPublic = EncodeBase64(ua.priv.PublicKey().Bytes())
		cases[i].Auth = EncodeBase64(ua.auth)
	}
	results := runNode(t, "ece-encrypt", cases)
	for i, c := range cases {
		var r struct {
			Body string `json:"body"`
		}
		if ok, errText := decodeResult(t, results[i], &r); !ok {
			t.Fatalf("rs=%d: http_ece encrypt: %s", c.RS, errText)
		}
		body := b64(t, r.Body)
		if c.RS < 200 && len(body)-headerLen <= c.RS {
			t.Fatalf("rs=%d: http_ece wrote a single record; the test wants several", c.RS)
		}
		got, err := Decrypt(body, ua.priv, ua.auth)
		if err != nil {
			t.Fatalf("rs=%d pad=%d: Herald cannot decrypt http_ece's body: %v", c.RS, c.Pad, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("rs=%d: decrypted %q", c.RS, got)
		}
		// Dropping the final record must be caught, whatever the layout.
		if n := (len(body) - headerLen) / c.RS; n >= 1 && (len(body)-headerLen)%c.RS != 0 {
			if _, err := Decrypt(body[:headerLen+n*c.RS], ua.priv, ua.auth); err == nil {
				t.Errorf("rs=%d: truncated http_ece body decrypted", c.RS)
			}
		}
	}
}

func TestInteropWebPushLibRequest(t *testing.T) {
	ua := newUserAgent(t)
	vapid, err := GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	const endpoint = "https://push.example.net:8443/wpush/v2/abcdef"
	type wpCase struct {
		Subscription map[string]any    `json:"subscription"`
		Payload      string            `json:"payload"`
		VAPID        map[string]string `json:"vapid"`
		Options      map[string]any    `json:"options"`
	}
	sub := map[string]any{"endpoint": endpoint, "keys": map[string]string{
		"p256dh": EncodeBase64(ua.priv.PublicKey().Bytes()), "auth": EncodeBase64(ua.auth),
	}}
	vd := map[string]string{
		"subject": "mailto:ops@example.com", "publicKey": EncodeBase64(vapid.PublicKey()), "privateKey": EncodeBase64(vapid.Bytes()),
	}
	msg := payload200()
	cases := []wpCase{
		{sub, EncodeBase64(msg), vd, map[string]any{"TTL": 3600, "urgency": "high", "topic": "orders"}},
		{sub, EncodeBase64(bytes.Repeat([]byte{7}, MaxPlaintext)), vd, map[string]any{"TTL": 0}},
		{sub, EncodeBase64(msg), vd, map[string]any{"contentEncoding": "aesgcm"}}, // legacy VAPID form
	}
	results := runNode(t, "webpush-request", cases)
	start := time.Now()

	type request struct {
		Method   string            `json:"method"`
		Endpoint string            `json:"endpoint"`
		Headers  map[string]string `json:"headers"`
		Body     string            `json:"body"`
	}
	var reqs []request
	for i := range cases {
		var r request
		if ok, errText := decodeResult(t, results[i], &r); !ok {
			t.Fatalf("case %d: web-push: %s", i, errText)
		}
		reqs = append(reqs, r)
	}
	checkToken := func(name, token string, pub []byte) {
		t.Helper()
		if !bytes.Equal(pub, vapid.PublicKey()) {
			t.Errorf("%s: VAPID key is not the one web-push signed with", name)
		}
		c, err := VerifyVAPIDToken(token, pub, start)
		if err != nil {
			t.Fatalf("%s: web-push's VAPID token: %v", name, err)
		}
		if c.Audience != "https://push.example.net:8443" || c.Subject != "mailto:ops@example.com" {
			t.Errorf("%s: claims %+v", name, c)
		}
	}

	for i, want := range [][]byte{msg, bytes.Repeat([]byte{7}, MaxPlaintext)} {
		r := reqs[i]
		if r.Method != "POST" || r.Endpoint != endpoint || r.Headers["Content-Encoding"] != "aes128gcm" {
			t.Fatalf("case %d: request %s %s %v", i, r.Method, r.Endpoint, r.Headers)
		}
		body := b64(t, r.Body)
		if strconv.Itoa(len(body)) != r.Headers["Content-Length"] {
			t.Errorf("case %d: Content-Length %s for %d bytes", i, r.Headers["Content-Length"], len(body))
		}
		got, err := Decrypt(body, ua.priv, ua.auth)
		if err != nil {
			t.Fatalf("case %d: Herald cannot decrypt web-push's body: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d: decrypted %d bytes that differ from the payload", i, len(got))
		}
		token, pub, err := ParseVAPIDHeader(r.Headers["Authorization"])
		if err != nil {
			t.Fatalf("case %d: web-push's Authorization %q: %v", i, r.Headers["Authorization"], err)
		}
		checkToken("case "+strconv.Itoa(i), token, pub)
	}
	if h := reqs[0].Headers; h["TTL"] != "3600" || h["Urgency"] != "high" || h["Topic"] != "orders" {
		t.Errorf("headers %v", h)
	}

	legacy := reqs[2].Headers
	if _, _, err := ParseVAPIDHeader(legacy["Authorization"]); err == nil {
		t.Error("ParseVAPIDHeader accepted the legacy form")
	}
	token, pub, err := ParseVAPIDLegacy(legacy["Authorization"], legacy["Crypto-Key"])
	if err != nil {
		t.Fatalf("legacy Authorization %q, Crypto-Key %q: %v", legacy["Authorization"], legacy["Crypto-Key"], err)
	}
	checkToken("legacy", token, pub)
}

func TestInteropJoseVerifiesVAPID(t *testing.T) {
	key, err := GenerateVAPIDKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateVAPIDKey()
	signer := NewSigner(key, "https://herald.example/contact", time.Now)
	type joseCase struct {
		Token     string `json:"token"`
		PublicKey string `json:"publicKey"`
		Audience  string `json:"audience"`
		Subject   string `json:"subject"`
		wantOK    bool
		name      string
	}
	var cases []joseCase
	for _, ep := range []struct{ endpoint, aud string }{
		{"https://fcm.googleapis.com/fcm/send/abc", "https://fcm.googleapis.com"},
		{"https://push.example.net:8443/p/1", "https://push.example.net:8443"},
		{"http://127.0.0.1:41234/push", "http://127.0.0.1:41234"},
	} {
		h, err := signer.Header(ep.endpoint)
		if err != nil {
			t.Fatal(err)
		}
		token, pub, err := ParseVAPIDHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		k := EncodeBase64(pub)
		sub := "https://herald.example/contact"
		cases = append(cases,
			joseCase{token, k, ep.aud, sub, true, ep.endpoint},
			joseCase{token, EncodeBase64(other.PublicKey()), ep.aud, sub, false, ep.endpoint + " other key"},
			joseCase{token, k, ep.aud + "/", sub, false, ep.endpoint + " other audience"},
			joseCase{token, k, ep.aud, "mailto:someone@else", false, ep.endpoint + " other subject"},
			joseCase{token[:len(token)-4] + "AAAA", k, ep.aud, sub, false, ep.endpoint + " bad signature"},
		)
	}
	start := time.Now()
	results := runNode(t, "jose-verify", cases)
	for i, c := range cases {
		var r struct {
			Header  map[string]any `json:"header"`
			Payload map[string]any `json:"payload"`
		}
		ok, errText := decodeResult(t, results[i], &r)
		if ok != c.wantOK {
			t.Errorf("%s: jose ok=%v (%s), want %v", c.name, ok, errText, c.wantOK)
			continue
		}
		if !ok {
			continue
		}
		if r.Header["alg"] != "ES256" || r.Header["typ"] != "JWT" {
			t.Errorf("%s: header %v", c.name, r.Header)
		}
		exp := time.Unix(int64(r.Payload["exp"].(float64)), 0)
		if d := exp.Sub(start); d > MaxTokenLifetime || d < TokenLifetime-TokenRefresh {
			t.Errorf("%s: exp is %s away, want about 12h and never over 24h", c.name, d)
		}
	}
}
