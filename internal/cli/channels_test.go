package cli_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apns/apnstest"
	"github.com/heraldpush/herald/internal/fcm/fcmtest"
)

// TestOneSendReachesEveryChannel sends one message to a tag that a Web
// Push subscriber, an FCM token and an APNs token carry; it reaches all
// three through the fakes and an unregistered token of each app channel is
// pruned. (The refresh of an expired APNs provider token needs a clock an
// hour ahead; internal/apns tests it against apnstest.)
func TestOneSendReachesEveryChannel(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "channels")
	tp := pushService(t)
	fc, err := fcmtest.Start(fcmtest.Options{Record: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	ap := apnstest.Start(apnstest.Options{Record: true})
	defer ap.Close()

	// Credentials through the CLI, as an operator sets them.
	saFile := filepath.Join(t.TempDir(), "sa.json")
	os.WriteFile(saFile, fc.ServiceAccount(), 0o600)
	herald(t, nil, "app", "set-fcm", "--app", a.ID, "--service-account", saFile, "--data", data)
	key, err := ap.NewKey("TEAM123456", "KEY1234567", "com.example.app")
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	p8File := filepath.Join(t.TempDir(), "AuthKey_KEY1234567.p8")
	os.WriteFile(p8File, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	out := herald(t, nil, "app", "set-apns", "--app", a.ID, "--key", p8File, "--key-id", "KEY1234567",
		"--team-id", "TEAM123456", "--topic", "com.example.app", "--json", "--data", data)
	if !strings.Contains(out, `"topic": "com.example.app"`) || strings.Contains(out, "PRIVATE KEY") {
		t.Fatalf("set-apns printed %s", out)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, ap.CertificatePEM(), 0o600)
	srv := startServer(t, data, "--fcm-url", fc.URL(), "--apns-url", ap.URL(), "--ca-file", caFile)

	r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/app", bearer(a.APIKey), nil)
	app := r.json(t)
	if app["fcm"] == nil || app["apns"] == nil || strings.Contains(string(r.Body), "PRIVATE") {
		t.Fatalf("GET /v1/app: %s", r.Body)
	}

	subs, _ := subscribe(t, srv, a.APIKey, tp, 1, "vip")
	const fcmToken, fcmGone = "fcm-token-alive-0123456789", "fcm-token-gone-0123456789"
	apnsToken, apnsGone := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	ids := map[string]string{}
	for _, reg := range []map[string]any{
		{"type": "fcm", "token": fcmToken, "tags": []string{"vip"}},
		{"type": "fcm", "token": fcmGone, "tags": []string{"vip"}},
		{"type": "apns", "token": apnsToken, "tags": []string{"vip"}},
		{"type": "apns", "token": apnsGone, "tags": []string{"vip"}},
		{"type": "fcm", "token": "fcm-not-vip-0123456789", "tags": []string{"other"}},
	} {
		r := do(t, http.DefaultClient, "POST", srv.URL+"/v1/subscribers", bearer(a.APIKey), reg)
		if r.Status != http.StatusCreated {
			t.Fatalf("register %v: %d %s", reg, r.Status, r.Body)
		}
		ids[reg["token"].(string)] = r.json(t)["registration_id"].(string)
	}
	fc.Fail(fcmGone, fcmtest.Unregistered())
	ap.Fail(apnsGone, apnstest.Unregistered())

	id := sendMessage(t, srv, a.APIKey, map[string]any{"to": map[string]any{"tags": []string{"vip"}},
		"content": map[string]any{"title": "Everywhere", "body": "at once", "url": "https://example.test/p"}, "data": map[string]any{"k": "v"}})
	m := waitDone(t, srv, a.APIKey, id, 60*time.Second)
	if m.Targeted != 5 || m.Sent != 3 || m.Pruned != 2 || m.Failed != 0 {
		t.Fatalf("counters %+v", m)
	}
	if got := tp.Received(subs[0].ID); len(got) != 1 {
		t.Errorf("web push: %d", len(got))
	}
	fm := fc.Received(fcmToken)
	if len(fm) != 1 {
		t.Fatalf("fcm: %d messages", len(fm))
	}
	b, _ := json.Marshal(fm[0])
	if !strings.Contains(string(b), "Everywhere") || !strings.Contains(string(b), "https://example.test/p") {
		t.Errorf("fcm message %s", b)
	}
	an := ap.Received(apnsToken)
	if len(an) != 1 {
		t.Fatalf("apns: %d notifications (stats %+v)", len(an), ap.Stats())
	}
	var pl map[string]any
	json.Unmarshal(an[0].Payload, &pl)
	aps, _ := pl["aps"].(map[string]any)
	alert, _ := aps["alert"].(map[string]any)
	if alert["title"] != "Everywhere" || pl["url"] != "https://example.test/p" || an[0].Topic != "com.example.app" {
		t.Errorf("apns notification %s (topic %s)", an[0].Payload, an[0].Topic)
	}
	for _, gone := range []string{fcmGone, apnsGone} {
		if r := do(t, http.DefaultClient, "GET", srv.URL+"/v1/subscribers/"+ids[gone], bearer(a.APIKey), nil); r.Status != 404 {
			t.Errorf("%s not pruned: %d", gone, r.Status)
		}
	}
	r = do(t, http.DefaultClient, "GET", srv.URL+"/v1/messages/"+id+"/stats", bearer(a.APIKey), nil)
	var stats struct {
		ByChannel map[string]struct{ Sent, Pruned int } `json:"by_channel"`
	}
	if err := json.Unmarshal(r.Body, &stats); err != nil || r.Status != 200 {
		t.Fatalf("stats: %d %s", r.Status, r.Body)
	}
	bc := stats.ByChannel
	if bc["webpush"].Sent != 1 || bc["fcm"].Sent != 1 || bc["fcm"].Pruned != 1 || bc["apns"].Sent != 1 || bc["apns"].Pruned != 1 {
		t.Errorf("stats by channel: %s", r.Body)
	}
	// Removing the FCM account makes FCM sends fail clearly.
	if r := do(t, http.DefaultClient, "DELETE", srv.URL+"/v1/app/fcm", bearer(a.APIKey), nil); r.Status != 204 {
		t.Fatalf("delete fcm: %d %s", r.Status, r.Body)
	}
}
