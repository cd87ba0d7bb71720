package admin

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/fcm/fcmtest"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// sendVia sends a message titled "Hi <tag>" to a tag through the send
// service, as the API would.
func (r *rig) sendVia(appID string, tag string) store.Message {
	r.t.Helper()
	f := readCompose(url.Values{"target": {"filter"}, "tags": {tag}, "title": {"Hi " + tag}})
	sr, err := f.request()
	if err != nil {
		r.t.Fatal(err)
	}
	m, _, err := r.send.Send(context.Background(), appID, sr)
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

func TestEveryPageRenders(t *testing.T) {
	r := newRig(t, nil)
	r.login()
	a := r.newApp("Shop")
	for i := range 3 {
		r.subscribe(a.ID, i, "en", "news")
	}
	r.subscribe(a.ID, 9, "fa", "sports")
	m := r.sendVia(a.ID, "news")
	id := strconv.FormatInt(m.ID, 10)
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/admin/apps", []string{"Shop", a.ID, "Create an app"}},
		{"/admin/apps/" + a.ID, []string{a.VAPIDPublicKey, "Rotate", "FCM", "APNs", `id="callback_url"`, "No callback URL", "news · 3"}},
		{"/admin/apps/" + a.ID + "/subscribers", []string{`data-matching="4"`, "127.0.0.1", "sports"}},
		{"/admin/apps/" + a.ID + "/subscribers?tag=news", []string{`data-matching="3"`, "of 4 in all", "Send to tag news"}},
		{"/admin/apps/" + a.ID + "/subscribers?language=fa", []string{`data-matching="1"`}},
		{"/admin/apps/" + a.ID + "/subscribers?type=fcm", []string{`data-matching="0"`}},
		{"/admin/apps/" + a.ID + "/subscribers?active=24h", []string{`data-matching="4"`}},
		{"/admin/apps/" + a.ID + "/compose", []string{`id="compose"`, `data-count="4"`, "Segments"}},
		{"/admin/apps/" + a.ID + "/compose?target=filter&tags=news", []string{`data-count="3"`}},
		{"/admin/apps/" + a.ID + "/messages", []string{"Hi news", "queued", "/messages/" + id}},
		{"/admin/apps/" + a.ID + "/messages/" + id, []string{`data-counter="sent"`, "Hi news", "No delivery outcomes yet", "Cancel this message"}},
		{"/admin/apps/" + a.ID + "/messages/" + id + "/chart", []string{`id="chart"`}},
		{"/admin/apps/" + a.ID + "/segments", []string{"No segments yet", "New segment"}},
		{"/admin/apps/" + a.ID + "/segments/new", []string{`id="segment"`, `data-count="4"`, "Clicked within"}},
	} {
		res := r.get(c.path)
		if res.Status != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", c.path, res.Status, res.Body)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(res.Body, w) {
				t.Errorf("GET %s: no %q in the page", c.path, w)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: CSP %q, Cache-Control %q", c.path, csp, res.Header.Get("Cache-Control"))
		}
	}
	// The live counters' JSON.
	res := r.get("/admin/apps/" + a.ID + "/messages/" + id + "/stats")
	var st statsJSON
	if res.Status != http.StatusOK || json.Unmarshal([]byte(res.Body), &st) != nil || st.State != "queued" || st.Final {
		t.Errorf("stats: %d %s", res.Status, res.Body)
	}
	// The assets, under hashed names, cached for good.
	page := r.get("/admin/apps")
	for _, re := range []string{`href="(/admin/static/admin\.[0-9a-f]{12}\.css)"`, `src="(/admin/static/admin\.[0-9a-f]{12}\.js)"`} {
		p := r.find(regexp.MustCompile(re), page.Body)
		res := r.get(p)
		if res.Status != http.StatusOK || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || len(res.Body) < 100 {
			t.Errorf("GET %s: %d, Cache-Control %q", p, res.Status, res.Header.Get("Cache-Control"))
		}
	}
	for _, p := range []string{"/admin/nope", "/admin/apps/app_nope", "/admin/apps/" + a.ID + "/messages/999", "/admin/apps/" + a.ID + "/messages/x", "/admin/static/admin.css"} {
		if res := r.get(p); res.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.Status)
		}
	}
}

func TestAppPagesShowOnlyTheirApp(t *testing.T) {
	r := newRig(t, nil)
	r.login()
	a, b := r.newApp("Alpha"), r.newApp("Beta")
	ra := r.subscribe(a.ID, 1, "en", "alpha-tag")
	rb := r.subscribe(b.ID, 1, "en", "beta-tag")
	r.subscribe(b.ID, 2, "en", "beta-tag")
	mb := r.sendVia(b.ID, "beta-tag")

	page := r.get("/admin/apps/" + a.ID + "/subscribers")
	if !strings.Contains(page.Body, ra) || strings.Contains(page.Body, rb) || strings.Contains(page.Body, "beta-tag") {
		t.Errorf("A's subscribers page: A's %v, B's %v, B's tag %v; want only A's",
			strings.Contains(page.Body, ra), strings.Contains(page.Body, rb), strings.Contains(page.Body, "beta-tag"))
	}
	// A tag of B's, searched in A, matches nothing.
	if page := r.get("/admin/apps/" + a.ID + "/subscribers?tag=beta-tag"); !strings.Contains(page.Body, `data-matching="0"`) {
		t.Errorf("B's tag found subscribers in A")
	}
	overview := r.get("/admin/apps/" + a.ID)
	if strings.Contains(overview.Body, "beta-tag") || strings.Contains(overview.Body, b.VAPIDPublicKey) || strings.Contains(overview.Body, b.ID) {
		t.Errorf("A's overview shows B's tag, key or id")
	}
	// No page shows a secret after creation.
	for _, p := range []string{"/admin/apps", "/admin/apps/" + a.ID, "/admin/apps/" + b.ID} {
		body := r.get(p).Body
		for _, secret := range []string{a.APIKey, b.APIKey, a.EngageLab.MasterSecret, a.Najva.Token, a.Webtoapp.APIKey} {
			if strings.Contains(body, secret) {
				t.Errorf("GET %s shows a secret", p)
			}
		}
	}
	// B's message is not A's.
	id := strconv.FormatInt(mb.ID, 10)
	for _, p := range []string{"/messages/" + id, "/messages/" + id + "/stats", "/messages/" + id + "/chart"} {
		if res := r.get("/admin/apps/" + a.ID + p); res.Status != http.StatusNotFound {
			t.Errorf("B's message under A, %s: %d, want 404", p, res.Status)
		}
	}
	if list := r.get("/admin/apps/" + a.ID + "/messages"); strings.Contains(list.Body, "Hi beta-tag") {
		t.Errorf("A's message list shows B's message")
	}
	if res := r.get("/admin/apps/" + b.ID + "/messages/" + id); res.Status != http.StatusOK {
		t.Errorf("B's message under B: %d", res.Status)
	}
	// A's audience is counted in A only.
	csrf := r.find(csrfRE, r.get("/admin/apps/"+a.ID+"/compose").Body)
	res := r.post("/admin/apps/"+a.ID+"/audience", url.Values{"csrf": {csrf}, "target": {"filter"}, "tags": {"beta-tag"}})
	if res.Status != http.StatusOK || strings.TrimSpace(res.Body) != `{"count":0}` {
		t.Errorf("B's tag counted in A: %d %s", res.Status, res.Body)
	}
	// Cancelling B's message through A is refused.
	if res := r.post("/admin/apps/"+a.ID+"/messages/"+id+"/cancel", url.Values{"csrf": {csrf}}); res.Status != http.StatusNotFound {
		t.Errorf("cancel B's message under A: %d", res.Status)
	}
	if m, _ := r.st.Message(t.Context(), b.ID, mb.ID); m.State != store.StateQueued {
		t.Errorf("B's message is %s", m.State)
	}
}

func TestCreateShowsCredentialsOnce(t *testing.T) {
	r := newRig(t, nil)
	csrf := r.login()
	res := r.post("/admin/apps", url.Values{"csrf": {csrf}, "name": {"  My site  "}})
	if res.Status != http.StatusCreated || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d, Cache-Control %q", res.Status, res.Header.Get("Cache-Control"))
	}
	cred := func(name string) string {
		return r.find(regexp.MustCompile(`data-credential="`+name+`">([^<]+)<`), res.Body)
	}
	key := cred("api_key")
	app, err := r.apps.ByAPIKey(t.Context(), key)
	if err != nil || app.ID != cred("id") || app.Name != "My site" {
		t.Fatalf("the shown API key: %v, app %+v", err, app)
	}
	if _, err := r.apps.ByEngageLab(t.Context(), cred("engagelab_app_key"), cred("engagelab_master_secret")); err != nil {
		t.Errorf("the shown EngageLab credentials: %v", err)
	}
	if _, err := r.apps.ByNajvaToken(t.Context(), cred("najva_token")); err != nil {
		t.Errorf("the shown Najva token: %v", err)
	}
	if _, err := r.apps.ByWebtoappKey(t.Context(), cred("webtoapp_api_key")); err != nil {
		t.Errorf("the shown webtoapp key: %v", err)
	}
	if cred("vapid_public_key") != webpush.EncodeBase64(app.VAPIDPublicKey) {
		t.Errorf("the shown VAPID key is not the app's")
	}
	for _, p := range []string{"/admin/apps", "/admin/apps/" + app.ID} {
		if strings.Contains(r.get(p).Body, key) {
			t.Errorf("GET %s shows the API key again", p)
		}
	}
	// A name the service refuses comes back to the form.
	if res := r.post("/admin/apps", url.Values{"csrf": {csrf}, "name": {"   "}}); res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "must not be empty") {
		t.Errorf("empty name: %d", res.Status)
	}
}

func TestRotate(t *testing.T) {
	r := newRig(t, nil)
	csrf := r.login()
	a := r.newApp("A")
	path := "/admin/apps/" + a.ID + "/rotate"
	if res := r.post(path, url.Values{"csrf": {csrf}, "kind": {"api-key"}}); res.Status != http.StatusBadRequest {
		t.Errorf("rotate without confirming: %d", res.Status)
	}
	if res := r.post(path, url.Values{"csrf": {csrf}, "kind": {"nope"}, "confirm": {"yes"}}); res.Status != http.StatusBadRequest {
		t.Errorf("rotate an unknown kind: %d", res.Status)
	}
	res := r.post(path, url.Values{"csrf": {csrf}, "kind": {"api-key"}, "confirm": {"yes"}})
	if res.Status != http.StatusOK {
		t.Fatalf("rotate: %d", res.Status)
	}
	key := r.find(regexp.MustCompile(`data-credential="api_key">([^<]+)<`), res.Body)
	if _, err := r.apps.ByAPIKey(t.Context(), a.APIKey); err == nil {
		t.Errorf("the old key still works")
	}
	if got, err := r.apps.ByAPIKey(t.Context(), key); err != nil || got.ID != a.ID {
		t.Errorf("the new key: %v", err)
	}
	res = r.post(path, url.Values{"csrf": {csrf}, "kind": {"vapid"}, "confirm": {"yes"}})
	newKey := r.find(regexp.MustCompile(`data-credential="vapid_public_key">([^<]+)<`), res.Body)
	if newKey == a.VAPIDPublicKey || !strings.Contains(r.get("/admin/apps/"+a.ID).Body, newKey) {
		t.Errorf("VAPID rotation: the app page does not show the new key")
	}
}

// upload posts a multipart form with one file.
func (r *rig) upload(path, field, filename string, file []byte, fields map[string]string) resp {
	r.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(field, filename)
	fw.Write(file)
	mw.Close()
	req, _ := http.NewRequest("POST", r.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return r.do(r.client, req)
}

func TestChannelCredentials(t *testing.T) {
	r := newRig(t, nil)
	csrf := r.login()
	a := r.newApp("A")
	fc, err := fcmtest.Start(fcmtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	base := "/admin/apps/" + a.ID
	if res := r.upload(base+"/fcm", "service_account", "sa.json", []byte(`{"type":"nope"}`), map[string]string{"csrf": csrf}); res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "refused") {
		t.Errorf("a bad service account: %d", res.Status)
	}
	if res := r.upload(base+"/fcm", "service_account", "sa.json", fc.ServiceAccount(), nil); res.Status != http.StatusForbidden {
		t.Errorf("an upload without the CSRF token: %d", res.Status)
	}
	res := r.upload(base+"/fcm", "service_account", "sa.json", fc.ServiceAccount(), map[string]string{"csrf": csrf})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("FCM upload: %d %s", res.Status, res.Body)
	}
	info, err := apps.NewChannels(r.apps, r.st).FCMInfo(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	page := r.get(base)
	if !strings.Contains(page.Body, info.ClientEmail) || !strings.Contains(page.Body, "FCM service account saved") || strings.Contains(page.Body, "PRIVATE KEY") {
		t.Errorf("the app page after the FCM upload")
	}

	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	p8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	fields := map[string]string{"csrf": csrf, "key_id": "KEY1234567", "team_id": "TEAM123456", "topic": "com.example.app"}
	if res := r.upload(base+"/apns", "key", "AuthKey.p8", []byte("not a key"), fields); res.Status != http.StatusBadRequest {
		t.Errorf("a bad p8: %d", res.Status)
	}
	if res := r.upload(base+"/apns", "key", "AuthKey.p8", p8, fields); res.Status != http.StatusSeeOther {
		t.Fatalf("APNs upload: %d %s", res.Status, res.Body)
	}
	page = r.get(base)
	if !strings.Contains(page.Body, "KEY1234567") || !strings.Contains(page.Body, "com.example.app") || !strings.Contains(page.Body, "sandbox") {
		t.Errorf("the app page after the APNs upload")
	}
	for _, ch := range []string{"fcm", "apns"} {
		if res := r.post(base+"/"+ch+"/delete", url.Values{"csrf": {csrf}}); res.Status != http.StatusSeeOther {
			t.Errorf("remove %s: %d", ch, res.Status)
		}
	}
	if page := r.get(base); !strings.Contains(page.Body, "No service account") || !strings.Contains(page.Body, "No APNs key") {
		t.Errorf("the credentials are still shown after removal")
	}
}

func TestComposeAndSend(t *testing.T) {
	r := newRig(t, nil)
	csrf := r.login()
	a := r.newApp("A")
	for i := range 3 {
		r.subscribe(a.ID, i, "en", "news")
	}
	r.subscribe(a.ID, 7, "fa", "news", "vip")
	count := func(form url.Values) (int, string) {
		form.Set("csrf", csrf)
		res := r.post("/admin/apps/"+a.ID+"/audience", form)
		var j struct {
			Count *int64 `json:"count"`
			Error string `json:"error"`
		}
		json.Unmarshal([]byte(res.Body), &j)
		if j.Count == nil {
			return res.Status, j.Error
		}
		return res.Status, strconv.FormatInt(*j.Count, 10)
	}
	for _, c := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{url.Values{"target": {"all"}}, 200, "4"},
		{url.Values{"target": {"filter"}, "tags": {"news"}}, 200, "4"},
		{url.Values{"target": {"filter"}, "tags": {"news"}, "tags_not": {"vip"}}, 200, "3"},
		{url.Values{"target": {"filter"}, "tags_and": {"news, vip"}}, 200, "1"},
		{url.Values{"target": {"filter"}, "languages": {"fa"}}, 200, "1"},
		{url.Values{"target": {"filter"}, "tags": {"nobody"}}, 200, "0"},
		{url.Values{"target": {"filter"}}, 400, "names no target"},
		{url.Values{"target": {"filter"}, "tags_not": {"vip"}}, 400, "cannot be used alone"},
	} {
		status, got := count(c.form)
		if status != c.status || !strings.Contains(got, c.want) {
			t.Errorf("count %v: %d %q, want %d %q", c.form, status, got, c.status, c.want)
		}
	}

	// A refused send comes back to the form, filled in.
	res := r.post("/admin/apps/"+a.ID+"/messages", url.Values{"csrf": {csrf}, "target": {"filter"}, "tags": {"news"}, "title": {"Kept"}, "url": {"not a url"}})
	if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "content.url") || !strings.Contains(res.Body, `value="Kept"`) {
		t.Errorf("bad url: %d\n%s", res.Status, res.Body)
	}
	if res := r.post("/admin/apps/"+a.ID+"/messages", url.Values{"csrf": {csrf}, "target": {"all"}, "title": {"x"}, "spread_minutes": {"lots"}}); res.Status != http.StatusBadRequest {
		t.Errorf("bad spread: %d", res.Status)
	}

	sendAt := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Minute)
	res = r.post("/admin/apps/"+a.ID+"/messages", url.Values{"csrf": {csrf}, "target": {"filter"}, "tags": {"news"}, "tags_not": {"vip"},
		"title": {"Sale"}, "body": {"Today only"}, "url": {"https://shop.example/sale"}, "icon": {"/icon.png"}, "image": {"https://shop.example/i.png"},
		"lang_1": {"fa"}, "lang_title_1": {"حراج"}, "lang_body_1": {"فقط امروز"},
		"send_at": {sendAt.Format("2006-01-02T15:04")}, "spread_minutes": {"10"}, "ttl": {"3600"}, "urgency": {"high"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("send: %d\n%s", res.Status, res.Body)
	}
	loc := res.Header.Get("Location")
	id, err := strconv.ParseInt(loc[strings.LastIndex(loc, "/")+1:], 10, 64)
	if err != nil {
		t.Fatalf("send redirected to %q", loc)
	}
	m, err := r.st.Message(t.Context(), a.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	c := decodeContent(m.Content)
	if m.State != store.StateScheduled || !m.SendAt.Equal(sendAt) || m.SpreadSeconds != 600 || m.TTL != time.Hour || m.Urgency != "high" ||
		c.Title != "Sale" || c.Body != "Today only" || c.URL != "https://shop.example/sale" || c.Icon != "/icon.png" ||
		c.Languages["fa"].Title != "حراج" || strings.Join(m.Audience.Tags, ",") != "news" || strings.Join(m.Audience.TagsNot, ",") != "vip" {
		t.Errorf("stored message: %+v, content %+v", m, c)
	}
	page := r.get(loc)
	if !strings.Contains(page.Body, "scheduled for") || !strings.Contains(page.Body, "حراج") {
		t.Errorf("the message page does not say it is scheduled")
	}
	// A scheduled message can be cancelled from its page.
	res = r.post(loc+"/cancel", url.Values{"csrf": {csrf}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", res.Status)
	}
	if page := r.get(loc); !strings.Contains(page.Body, "Message cancelled") || !strings.Contains(page.Body, `data-final="true"`) {
		t.Errorf("after cancelling, the page")
	}
	if res := r.post(loc+"/cancel", url.Values{"csrf": {csrf}}); res.Status != http.StatusSeeOther || !strings.Contains(r.get(loc).Body, "can no longer be cancelled") {
		t.Errorf("cancel twice: %d", res.Status)
	}
}

func TestMessagePageFollowsDelivery(t *testing.T) {
	r := newRig(t, nil)
	r.login()
	a := r.newApp("A")
	for i := range 4 {
		r.subscribe(a.ID, i, "en", "news")
	}
	m := r.sendVia(a.ID, "news")
	ctx := t.Context()
	page, err := r.st.AudiencePage(ctx, a.ID, m.Audience, 0, 10)
	if err != nil || len(page) != 4 {
		t.Fatalf("audience: %v %v", page, err)
	}
	if _, err := r.st.AdvanceFanout(ctx, a.ID, m.ID, page[3].ID, 4, true, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.RecordOutcomes(ctx, a.ID, m.ID, []store.Outcome{
		{SubscriberID: page[0].ID, Result: store.ResultSent}, {SubscriberID: page[1].ID, Result: store.ResultSent},
		{SubscriberID: page[2].ID, Result: store.ResultFailed, Reason: "http 400"},
	}, nil); err != nil {
		t.Fatal(err)
	}
	base := "/admin/apps/" + a.ID + "/messages/" + strconv.FormatInt(m.ID, 10)
	var st statsJSON
	json.Unmarshal([]byte(r.get(base+"/stats").Body), &st)
	if st.State != "sending" || st.Final || st.Sent != 2 || st.Failed != 1 || st.Pending != 1 || st.Targeted != 4 {
		t.Errorf("stats while sending: %+v", st)
	}
	body := r.get(base).Body
	for _, w := range []string{`data-final="false"`, "http 400", `<rect class="sent"`, `<rect class="failed"`, "<title id=\"chart-title\">", "Delivery outcomes per second"} {
		if !strings.Contains(body, w) {
			t.Errorf("message page while sending: no %q", w)
		}
	}
	r.st.RecordOutcomes(ctx, a.ID, m.ID, []store.Outcome{{SubscriberID: page[3].ID, Result: store.ResultPruned}}, nil)
	json.Unmarshal([]byte(r.get(base+"/stats").Body), &st)
	if st.State != "done" || !st.Final || st.Pruned != 1 || st.Pending != 0 {
		t.Errorf("stats when done: %+v", st)
	}
	chart := r.get(base + "/chart")
	if !strings.HasPrefix(chart.Body, `<figure class="chart" id="chart">`) || !strings.Contains(chart.Body, `<rect class="pruned"`) {
		t.Errorf("chart fragment:\n%s", chart.Body)
	}
}
