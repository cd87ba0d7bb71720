package admin

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var callbackSecretRE = regexp.MustCompile(`data-credential="callback_secret">(whsec_[^<]+)<`)

func TestCallbackFormShowsTheSecretOnce(t *testing.T) {
	r := newRig(t, nil)
	csrf := r.login()
	a := r.newApp("A")
	page := "/admin/apps/" + a.ID
	if p := r.get(page); !strings.Contains(p.Body, "No callback URL") || strings.Contains(p.Body, "disabled placeholder") {
		t.Fatalf("app page before: %s", p.Body)
	}
	bad := r.post(page+"/callback", url.Values{"csrf": {csrf}, "callback_url": {"ftp://hooks.example/x"}})
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Body, "must start with https://") || !strings.Contains(bad.Body, `value="ftp://hooks.example/x"`) {
		t.Errorf("bad URL: %d %s", bad.Status, bad.Body)
	}
	if res := r.post(page+"/callback", url.Values{"callback_url": {"https://hooks.example/a"}}); res.Status == http.StatusOK {
		t.Errorf("a post without the CSRF token was taken")
	}
	set := r.post(page+"/callback", url.Values{"csrf": {csrf}, "callback_url": {"https://hooks.example/a"}})
	m := callbackSecretRE.FindStringSubmatch(set.Body)
	if set.Status != http.StatusOK || m == nil {
		t.Fatalf("set: %d, no secret shown: %s", set.Status, set.Body)
	}
	again := r.get(page)
	if strings.Contains(again.Body, m[1]) || !strings.Contains(again.Body, "https://hooks.example/a") {
		t.Errorf("the app page shows the secret again, or not the URL")
	}
	// A new URL keeps the secret: a redirect, nothing shown.
	kept := r.post(page+"/callback", url.Values{"csrf": {csrf}, "callback_url": {"https://hooks.example/b"}})
	if kept.Status != http.StatusSeeOther || strings.Contains(kept.Body, "whsec_") {
		t.Errorf("second set: %d %s", kept.Status, kept.Body)
	}
	rot := r.post(page+"/callback", url.Values{"csrf": {csrf}, "callback_url": {"https://hooks.example/b"}, "rotate": {"yes"}})
	if m2 := callbackSecretRE.FindStringSubmatch(rot.Body); m2 == nil || m2[1] == m[1] {
		t.Errorf("rotation did not show a new secret: %s", rot.Body)
	}
	if del := r.post(page+"/callback/delete", url.Values{"csrf": {csrf}}); del.Status != http.StatusSeeOther {
		t.Errorf("delete: %d", del.Status)
	}
	if p := r.get(page); !strings.Contains(p.Body, "No callback URL") {
		t.Errorf("after delete the page still shows a callback")
	}
}
