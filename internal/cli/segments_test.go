package cli_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSegmentsAPI drives /v1/segments end to end: create, list and read
// with live counts, change, rename, delete; another app cannot see them;
// bad bodies answer the documented errors.
func TestSegmentsAPI(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	b := createApp(t, data, "B")
	srv := startServer(t, data)
	tp := pushService(t)
	subscribe(t, srv, a.APIKey, tp, 4, "news")
	subscribe(t, srv, a.APIKey, tp, 2, "news", "muted")
	subscribe(t, srv, a.APIKey, tp, 3, "sport")
	subscribe(t, srv, b.APIKey, tp, 5, "news")
	url := srv.URL + "/v1/segments"
	key := bearer(a.APIKey)

	r := do(t, http.DefaultClient, "POST", url, key, `{"name":"readers","title":"News readers","description":"not muted",
		"rules":{"tags":["news"],"tags_not":["muted"],"active_within":"7d"}}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var seg struct {
		ID          int64          `json:"id"`
		Name        string         `json:"name"`
		Title       string         `json:"title"`
		Description string         `json:"description"`
		Rules       map[string]any `json:"rules"`
		Count       int64          `json:"subscriber_count"`
	}
	if err := json.Unmarshal(r.Body, &seg); err != nil {
		t.Fatal(err)
	}
	if seg.ID <= 0 || seg.Name != "readers" || seg.Title != "News readers" || seg.Count != 4 || seg.Rules["active_within"] != "7d" {
		t.Errorf("created %s", r.Body)
	}
	if r := do(t, http.DefaultClient, "POST", url, key, `{"name":"clickers","rules":{"clicked_within":"6h"}}`); r.Status != 201 ||
		r.json(t)["subscriber_count"] != 0.0 {
		t.Errorf("create clickers: %d %s", r.Status, r.Body)
	}
	if r := do(t, http.DefaultClient, "POST", url, key, `{"name":"readers","rules":{}}`); r.Status != 409 ||
		!strings.Contains(string(r.Body), `"code":"conflict"`) {
		t.Errorf("duplicate name: %d %s", r.Status, r.Body)
	}
	// The same name in another app is another segment.
	if r := do(t, http.DefaultClient, "POST", url, bearer(b.APIKey), `{"name":"readers","rules":{"tags":["news"]}}`); r.Status != 201 ||
		r.json(t)["subscriber_count"] != 5.0 {
		t.Errorf("B's readers: %d %s", r.Status, r.Body)
	}

	r = do(t, http.DefaultClient, "GET", url, key, nil)
	var list struct {
		Segments []struct {
			Name  string `json:"name"`
			Count int64  `json:"subscriber_count"`
		} `json:"segments"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil || r.Status != 200 || len(list.Segments) != 2 ||
		list.Segments[0].Name != "clickers" || list.Segments[1].Name != "readers" || list.Segments[1].Count != 4 {
		t.Errorf("list: %d %s", r.Status, r.Body)
	}

	// PATCH changes only what it names; PUT replaces, and may rename.
	r = do(t, http.DefaultClient, "PATCH", url+"/readers", key, `{"title":"Readers"}`)
	if m := r.json(t); r.Status != 200 || m["title"] != "Readers" || m["description"] != "not muted" || m["subscriber_count"] != 4.0 {
		t.Errorf("patch: %d %s", r.Status, r.Body)
	}
	r = do(t, http.DefaultClient, "PUT", url+"/readers", key, `{"name":"all-news","rules":{"tags":["news"]}}`)
	if m := r.json(t); r.Status != 200 || m["name"] != "all-news" || m["title"] != "" || m["subscriber_count"] != 6.0 || m["id"] != float64(seg.ID) {
		t.Errorf("put: %d %s", r.Status, r.Body)
	}
	if r := do(t, http.DefaultClient, "PATCH", url+"/all-news", key, `{"name":"clickers"}`); r.Status != 409 {
		t.Errorf("rename onto a taken name: %d %s", r.Status, r.Body)
	}

	// Another app's segments are invisible.
	for _, m := range []string{"GET", "PATCH", "PUT", "DELETE"} {
		if r := do(t, http.DefaultClient, m, url+"/clickers", bearer(b.APIKey), `{"name":"x","rules":{}}`); r.Status != 404 ||
			!strings.Contains(string(r.Body), `"code":"not_found"`) {
			t.Errorf("%s another app's segment: %d %s", m, r.Status, r.Body)
		}
	}
	if r := do(t, http.DefaultClient, "GET", url, "", nil); r.Status != 401 {
		t.Errorf("no key: %d", r.Status)
	}

	bad := []struct{ name, method, path, body, code, field, msg string }{
		{"no name", "POST", "", `{"rules":{}}`, "invalid_field", "name", "name: is required"},
		{"no rules", "POST", "", `{"name":"x"}`, "invalid_field", "rules", "rules: is required (an object; {} is every subscriber)"},
		{"bad name", "POST", "", `{"name":"a b","rules":{}}`, "invalid_field", "name", "name: must be 1 to 64 letters, digits, _, - or ., starting with a letter or digit"},
		{"long name", "POST", "", `{"name":"` + strings.Repeat("x", 65) + `","rules":{}}`, "invalid_field", "name", "name: must be 1 to 64 letters, digits, _, - or ., starting with a letter or digit"},
		{"bad window", "POST", "", `{"name":"x","rules":{"active_within":"2w"}}`, "invalid_field", "rules.active_within", `rules.active_within: must be a number of hours or days from 1h to 366d, like "6h" or "7d", got "2w"`},
		{"window too long", "POST", "", `{"name":"x","rules":{"clicked_within":"367d"}}`, "invalid_field", "rules.clicked_within", `rules.clicked_within: must be a number of hours or days from 1h to 366d, like "6h" or "7d", got "367d"`},
		{"too many tags_and", "POST", "", `{"name":"x","rules":{"tags_and":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20","21"]}}`, "invalid_field", "rules.tags_and", "rules.tags_and: has 21 entries, at most 20 are allowed"},
		{"empty tag", "POST", "", `{"name":"x","rules":{"tags":["a",""]}}`, "invalid_field", "rules.tags[1]", "rules.tags[1]: must not be empty"},
		{"bad channel", "POST", "", `{"name":"x","rules":{"channels":["sms"]}}`, "invalid_field", "rules.channels[0]", `rules.channels[0]: must be webpush, fcm or apns, got "sms"`},
		{"unknown rule", "POST", "", `{"name":"x","rules":{"tag":["a"]}}`, "unknown_field", "rules.tag", "rules.tag: unknown field"},
		{"wrong type", "POST", "", `{"name":"x","rules":{"tags":"a"}}`, "wrong_type", "rules.tags", "rules.tags: must be an array, got string"},
		{"long title", "POST", "", `{"name":"x","title":"` + strings.Repeat("t", 201) + `","rules":{}}`, "invalid_field", "title", "title: has 201 characters, at most 200 are allowed"},
		{"bad json", "POST", "", `{"name":`, "bad_json", "", ""},
		{"patch bad window", "PATCH", "/clickers", `{"rules":{"clicked_within":"0h"}}`, "invalid_field", "rules.clicked_within", `rules.clicked_within: must be a number of hours or days from 1h to 366d, like "6h" or "7d", got "0h"`},
		{"put without rules", "PUT", "/clickers", `{"name":"clickers"}`, "invalid_field", "rules", "rules: is required (an object; {} is every subscriber)"},
	}
	for _, tc := range bad {
		r := do(t, http.DefaultClient, tc.method, url+tc.path, key, tc.body)
		var e struct {
			Error struct{ Code, Field, Message string } `json:"error"`
		}
		json.Unmarshal(r.Body, &e)
		if r.Status != 400 || e.Error.Code != tc.code || e.Error.Field != tc.field || (tc.msg != "" && e.Error.Message != tc.msg) {
			t.Errorf("%s: %d %s\n\twant 400 %s %s %q", tc.name, r.Status, r.Body, tc.code, tc.field, tc.msg)
		}
	}

	if r := do(t, http.DefaultClient, "DELETE", url+"/clickers", key, nil); r.Status != 204 {
		t.Errorf("delete: %d %s", r.Status, r.Body)
	}
	if r := do(t, http.DefaultClient, "DELETE", url+"/clickers", key, nil); r.Status != 404 {
		t.Errorf("delete again: %d %s", r.Status, r.Body)
	}
	if r := do(t, http.DefaultClient, "GET", url+"/readers", bearer(b.APIKey), nil); r.Status != 200 {
		t.Errorf("B's own segment: %d %s", r.Status, r.Body)
	}
}

// TestSendToSegments sends to included and excluded segments combined
// with a tag and checks who received it, and that preview-audience counts
// the same; an unknown segment is a 400 naming the entry.
func TestSendToSegments(t *testing.T) {
	data := t.TempDir()
	a := createApp(t, data, "A")
	srv := startServer(t, data)
	tp := pushService(t)
	news, _ := subscribe(t, srv, a.APIKey, tp, 4, "news")
	muted, _ := subscribe(t, srv, a.APIKey, tp, 2, "news", "muted")
	sport, _ := subscribe(t, srv, a.APIKey, tp, 3, "sport")
	both, _ := subscribe(t, srv, a.APIKey, tp, 2, "sport", "vip")
	key := bearer(a.APIKey)
	for _, body := range []string{
		`{"name":"news","rules":{"tags":["news"]}}`,
		`{"name":"sport","rules":{"tags":["sport"],"active_within":"1h"}}`,
		`{"name":"muted","rules":{"tags":["muted"]}}`,
	} {
		if r := do(t, http.DefaultClient, "POST", srv.URL+"/v1/segments", key, body); r.Status != 201 {
			t.Fatalf("create %s: %d %s", body, r.Status, r.Body)
		}
	}
	// (news ∨ sport) ∧ ¬muted ∧ ¬vip: the 4 news and 3 sport subscribers.
	target := map[string]any{"segments": []any{"news", "sport"}, "segments_exclude": []any{"muted"}, "tags_not": []string{"vip"}}
	r := do(t, http.DefaultClient, "POST", srv.URL+"/v1/messages/preview-audience", key, map[string]any{"to": target})
	if r.Status != 200 || r.json(t)["count"] != 7.0 {
		t.Fatalf("preview: %d %s", r.Status, r.Body)
	}
	id := sendMessage(t, srv, a.APIKey, map[string]any{"to": target, "content": map[string]any{"title": "Hi"}})
	m := waitDone(t, srv, a.APIKey, id, 30*time.Second)
	if m.Targeted != 7 || m.Sent != 7 {
		t.Errorf("message %+v, want 7 targeted and sent", m)
	}
	for _, s := range append(news, sport...) {
		if n := len(tp.Received(s.ID)); n != 1 {
			t.Errorf("member %s got %d pushes", s.ID, n)
		}
	}
	for _, s := range append(muted, both...) {
		if n := len(tp.Received(s.ID)); n != 0 {
			t.Errorf("excluded %s got %d pushes", s.ID, n)
		}
	}

	// herald send --segment --local-time: this very minute in UTC (the
	// subscribers have no time zone) goes at once.
	env := map[string]string{"HERALD_SERVER": srv.URL, "HERALD_API_KEY": a.APIKey}
	if time.Now().UTC().Second() >= 55 {
		time.Sleep(6 * time.Second) // not across a minute boundary
	}
	out := herald(t, env, "send", "--segment", "sport", "--local-time", time.Now().UTC().Format("15:04"), "--title", "Now", "--wait", "--json")
	var cm struct {
		State     string `json:"state"`
		LocalTime string `json:"local_time"`
		Targeted  int    `json:"targeted"`
		Sent      int    `json:"sent"`
	}
	if err := json.Unmarshal([]byte(out), &cm); err != nil || cm.State != "done" || cm.Targeted != 5 || cm.Sent != 5 || cm.LocalTime == "" {
		t.Errorf("herald send --segment sport --local-time: %s (%v)", out, err)
	}
	if code, stderr := heraldExit(t, env, "send", "--segment", "sport", "--local-time", "9am", "--title", "x"); code != 1 || !strings.Contains(stderr, "local_time") {
		t.Errorf("a bad --local-time: exit %d, %q", code, stderr)
	}

	for _, tc := range []struct{ to, field, msg string }{
		{`{"segments":["news","nope"]}`, "to.segments[1]", `to.segments[1]: no segment named "nope"`},
		{`{"segments_exclude":[999]}`, "to.segments_exclude[0]", `to.segments_exclude[0]: no segment with id 999`},
		{`{"segments":[{}]}`, "to.segments[0]", `to.segments[0]: must be a segment name (string) or id (positive integer)`},
	} {
		for _, path := range []string{"/v1/messages", "/v1/messages/preview-audience"} {
			r := do(t, http.DefaultClient, "POST", srv.URL+path, key, `{"to":`+tc.to+`,"content":{"title":"x"}}`)
			var e struct {
				Error struct{ Code, Field, Message string } `json:"error"`
			}
			json.Unmarshal(r.Body, &e)
			if r.Status != 400 || e.Error.Code != "invalid_field" || e.Error.Field != tc.field || e.Error.Message != tc.msg {
				t.Errorf("%s %s: %d %s", path, tc.to, r.Status, r.Body)
			}
		}
	}
}
