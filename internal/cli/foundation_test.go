package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestAppCreatePrintsEveryCredential checks the fixed surface of
// `herald app create --json` and that no secret is stored in clear.
func TestAppCreatePrintsEveryCredential(t *testing.T) {
	data := t.TempDir()
	out := herald(t, nil, "app", "create", "--name", "Shop", "--json", "--data", data)
	var raw struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		APIKey    string `json:"api_key"`
		EngageLab struct {
			AppKey       string `json:"app_key"`
			MasterSecret string `json:"master_secret"`
		} `json:"engagelab"`
		Najva struct {
			Token  string `json:"token"`
			APIKey string `json:"api_key"`
		} `json:"najva"`
		Webtoapp struct {
			APIKey string `json:"api_key"`
		} `json:"webtoapp"`
		VAPIDPublicKey string `json:"vapid_public_key"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	secrets := []string{raw.APIKey, raw.EngageLab.MasterSecret, raw.Najva.Token, raw.Webtoapp.APIKey}
	for name, v := range map[string]string{"id": raw.ID, "api_key": raw.APIKey, "engagelab.app_key": raw.EngageLab.AppKey,
		"engagelab.master_secret": raw.EngageLab.MasterSecret, "najva.token": raw.Najva.Token, "najva.api_key": raw.Najva.APIKey,
		"webtoapp.api_key": raw.Webtoapp.APIKey, "vapid_public_key": raw.VAPIDPublicKey} {
		if v == "" {
			t.Errorf("%s is empty in %s", name, out)
		}
	}
	if raw.Name != "Shop" || len(raw.EngageLab.AppKey) != 24 || len(raw.EngageLab.MasterSecret) != 24 || len(raw.Najva.APIKey) != 36 {
		t.Errorf("unexpected credential shapes: %s", out)
	}
	if _, err := os.Stat(filepath.Join(data, "master.key")); err != nil {
		t.Errorf("master key not generated into the data dir: %v", err)
	}
	db, err := os.ReadFile(filepath.Join(data, "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(data, "herald.db-wal"))
	for _, s := range secrets {
		if bytes.Contains(db, []byte(s)) || bytes.Contains(wal, []byte(s)) {
			t.Errorf("secret %q is stored in clear", s[:6]+"…")
		}
	}
	list := herald(t, nil, "app", "list", "--data", data)
	if !strings.Contains(list, raw.ID) || !strings.Contains(list, "Shop") {
		t.Errorf("app list does not show the app: %s", list)
	}
	// Rotating the API key makes the old one useless and prints the new one.
	rot := herald(t, nil, "app", "rotate-key", "--app", raw.ID, "--kind", "api-key", "--json", "--data", data)
	var rc struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(rot), &rc); err != nil || rc.APIKey == "" || rc.APIKey == raw.APIKey {
		t.Fatalf("rotate-key printed %q (%v)", rot, err)
	}
	srv := startServer(t, data)
	c := http.DefaultClient
	if r := do(t, c, "GET", srv.URL+"/v1/app", bearer(raw.APIKey), nil); r.Status != http.StatusUnauthorized {
		t.Errorf("old API key after rotation: status %d", r.Status)
	}
	r := do(t, c, "GET", srv.URL+"/v1/app", bearer(rc.APIKey), nil)
	if r.Status != http.StatusOK || r.json(t)["vapid_public_key"] != raw.VAPIDPublicKey {
		t.Errorf("new API key: %d %s", r.Status, r.Body)
	}
}

// TestRegistryTenThousandEachWay is the foundation issue's "done when":
// 10,000 subscriptions through /v1 and 10,000 through /api/subscription,
// listed by tag and alias, and a second app's key refused.
func TestRegistryTenThousandEachWay(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 registrations")
	}
	data := t.TempDir()
	a := createApp(t, data, "A")
	b := createApp(t, data, "B")
	srv := startServer(t, data)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	const n = 10000
	regIDs := make([]string, n)
	parallel(t, n, func(i int) error {
		tags := []string{"all"}
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		if i%10 == 0 {
			tags = append(tags, "tens")
		}
		body := map[string]any{"type": "webpush", "subscription": browserSubscription(endpointFor(i)),
			"tags": tags, "alias": fmt.Sprintf("user-%d", i/3), "language": "fa", "timezone": "Asia/Tehran"}
		r, err := request(c, "POST", srv.URL+"/v1/subscribers", bearer(a.APIKey), body)
		if err != nil {
			return err
		}
		if r.Status != http.StatusCreated {
			return fmt.Errorf("register %d: %d %s", i, r.Status, r.Body)
		}
		var reg struct {
			ID string `json:"registration_id"`
		}
		json.Unmarshal(r.Body, &reg)
		id := reg.ID
		if !strings.HasPrefix(id, "r_") {
			return fmt.Errorf("register %d: registration_id %q", i, id)
		}
		regIDs[i] = id
		return nil
	})
	parallel(t, n, func(i int) error {
		url := srv.URL + "/api/subscription"
		var hdr []string
		var body any = browserSubscription(endpointFor(n + i))
		switch i % 3 {
		case 0:
			url += "?app=" + a.ID
		case 1:
			hdr = []string{"X-Herald-App", a.ID}
		case 2: // the guide's client stringifies twice
			j, _ := json.Marshal(body)
			s, _ := json.Marshal(string(j))
			body = string(s)
			url += "?app=" + a.ID
		}
		r, err := request(c, "POST", url, "", body, hdr...)
		if err != nil {
			return err
		}
		if r.Status != http.StatusOK || string(bytes.TrimSpace(r.Body)) != `{"data":{"success":true}}` {
			return fmt.Errorf("guide subscription %d: %d %s", i, r.Status, r.Body)
		}
		return nil
	})

	// The same endpoint again updates, never duplicates.
	again := map[string]any{"type": "webpush", "subscription": browserSubscription(endpointFor(7)), "tags": []string{"all", "vip"}}
	r := do(t, c, "POST", srv.URL+"/v1/subscribers", bearer(a.APIKey), again)
	if r.Status != http.StatusOK || r.json(t)["registration_id"] != regIDs[7] {
		t.Fatalf("re-register: %d %s, want 200 with %s", r.Status, r.Body, regIDs[7])
	}

	if got := listAll(t, c, srv.URL+"/v1/subscribers?limit=1000", a.APIKey); len(got) != 2*n {
		t.Errorf("listed %d subscribers, want %d", len(got), 2*n)
	}
	tens := listAll(t, c, srv.URL+"/v1/subscribers?tag=tens&limit=300", a.APIKey)
	if len(tens) != n/10 {
		t.Errorf("tag tens: %d subscribers, want %d", len(tens), n/10)
	}
	for _, s := range tens {
		if !contains(s["tags"], "tens") {
			t.Fatalf("tag filter returned %v", s)
		}
	}
	if vip := listAll(t, c, srv.URL+"/v1/subscribers?tag=vip", a.APIKey); len(vip) != 1 || vip[0]["registration_id"] != regIDs[7] {
		t.Errorf("tag vip: %v", vip)
	}
	user := listAll(t, c, srv.URL+"/v1/aliases/user-5", a.APIKey)
	if len(user) != 3 {
		t.Errorf("alias user-5 has %d devices, want 3", len(user))
	}
	tagsResp := do(t, c, "GET", srv.URL+"/v1/tags", bearer(a.APIKey), nil)
	var tl struct {
		Tags []struct {
			Tag         string `json:"tag"`
			Subscribers int    `json:"subscribers"`
		} `json:"tags"`
	}
	json.Unmarshal(tagsResp.Body, &tl)
	counts := map[string]int{}
	for _, tg := range tl.Tags {
		counts[tg.Tag] = tg.Subscribers
	}
	if counts["all"] != n || counts["even"] != n/2 || counts["tens"] != n/10 || counts["vip"] != 1 {
		t.Errorf("tag counts %v", counts)
	}

	// App B's key sees and changes nothing of A's.
	if got := listAll(t, c, srv.URL+"/v1/subscribers", b.APIKey); len(got) != 0 {
		t.Errorf("app B lists %d of A's subscribers", len(got))
	}
	if got := listAll(t, c, srv.URL+"/v1/aliases/user-5", b.APIKey); len(got) != 0 {
		t.Errorf("app B sees A's alias devices: %v", got)
	}
	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/subscribers/" + regIDs[3]},
		{"PATCH", "/v1/subscribers/" + regIDs[3]},
		{"DELETE", "/v1/subscribers/" + regIDs[3]},
	} {
		var body any
		if req.method == "PATCH" {
			body = map[string]any{"alias": "stolen"}
		}
		r := do(t, c, req.method, srv.URL+req.path, bearer(b.APIKey), body)
		e := errorOf(t, r)
		if r.Status != http.StatusNotFound || e.Code != "not_found" {
			t.Errorf("app B %s %s: %d %s, want 404 not_found", req.method, req.path, r.Status, r.Body)
		}
	}
	if r := do(t, c, "DELETE", srv.URL+"/v1/tags/all", bearer(b.APIKey), nil); r.json(t)["removed"] != float64(0) {
		t.Errorf("app B deleting tag all: %s", r.Body)
	}
	got := do(t, c, "GET", srv.URL+"/v1/subscribers/"+regIDs[3], bearer(a.APIKey), nil).json(t)
	if got["alias"] != "user-1" || !contains(got["tags"], "all") {
		t.Errorf("A's subscriber was changed by B: %v", got)
	}
	// A bad key is refused clearly.
	r = do(t, c, "GET", srv.URL+"/v1/subscribers", bearer("hk_not-a-key"), nil)
	if e := errorOf(t, r); r.Status != http.StatusUnauthorized || e.Code != "unauthorized" || e.Message != "API key matches no app" {
		t.Errorf("bad key: %d %s", r.Status, r.Body)
	}
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func errorOf(t testing.TB, r response) apiError {
	t.Helper()
	var b struct {
		Error apiError `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatalf("error body %q: %v", r.Body, err)
	}
	return b.Error
}

func contains(v any, s string) bool {
	list, _ := v.([]any)
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// listAll follows next_cursor to the end and returns every subscriber.
func listAll(t *testing.T, c *http.Client, url, key string) []map[string]any {
	t.Helper()
	var all []map[string]any
	seen := map[string]bool{}
	cursor := ""
	for page := 0; page < 1000; page++ {
		u := url
		if cursor != "" {
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			u += sep + "cursor=" + cursor
		}
		r := do(t, c, "GET", u, bearer(key), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, r.Status, r.Body)
		}
		var l struct {
			Subscribers []map[string]any `json:"subscribers"`
			NextCursor  string           `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &l); err != nil {
			t.Fatal(err)
		}
		for _, s := range l.Subscribers {
			id := s["registration_id"].(string)
			if seen[id] {
				t.Fatalf("subscriber %s listed twice", id)
			}
			seen[id] = true
		}
		all = append(all, l.Subscribers...)
		if l.NextCursor == "" {
			return all
		}
		cursor = l.NextCursor
	}
	t.Fatal("listing did not end after 1000 pages")
	return nil
}

// parallel runs f(0..n-1) on 8 goroutines and fails on the first error.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}
