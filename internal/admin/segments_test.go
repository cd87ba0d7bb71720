package admin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// TestSegmentPages creates, lists, edits and deletes a segment through the
// UI's forms, with the live counts, and sends to it from compose.
func TestSegmentPages(t *testing.T) {
	r := newRig(t, nil)
	csrf := r.login()
	a := r.newApp("A")
	for i := range 3 {
		r.subscribe(a.ID, i, "en", "news")
	}
	r.subscribe(a.ID, 5, "fa", "news", "muted")
	r.subscribe(a.ID, 6, "fa", "sport")
	base := "/admin/apps/" + a.ID + "/segments"

	count := func(form url.Values) (int, string) {
		form.Set("csrf", csrf)
		res := r.post(base+"/count", form)
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
		{url.Values{}, 200, "5"},
		{url.Values{"tags": {"news"}, "tags_not": {"muted"}}, 200, "3"},
		{url.Values{"tags_not": {"muted"}}, 200, "4"},
		{url.Values{"languages": {"fa"}, "active_within": {"1h"}}, 200, "2"},
		{url.Values{"clicked_within": {"7d"}}, 200, "0"},
		{url.Values{"channels": {"fcm"}}, 200, "0"},
		{url.Values{"active_within": {"soon"}}, 400, "rules.active_within"},
		{url.Values{"channels": {"sms"}}, 400, "rules.channels[0]"},
	} {
		if status, got := count(c.form); status != c.status || !strings.Contains(got, c.want) {
			t.Errorf("count %v: %d %q, want %d %q", c.form, status, got, c.status, c.want)
		}
	}

	// Create; a bad form comes back filled in, with the problem.
	res := r.post(base, url.Values{"csrf": {csrf}, "name": {"bad name"}, "title": {"Kept"}, "tags": {"news"}})
	if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "name: must be") || !strings.Contains(res.Body, `value="Kept"`) {
		t.Errorf("bad name: %d\n%s", res.Status, res.Body)
	}
	res = r.post(base, url.Values{"csrf": {csrf}, "name": {"readers"}, "title": {"News readers"},
		"tags": {"news"}, "tags_not": {"muted"}, "channels": {"webpush"}, "active_within": {"30d"}})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != base {
		t.Fatalf("create: %d %s\n%s", res.Status, res.Header.Get("Location"), res.Body)
	}
	seg, err := r.st.Segment(t.Context(), a.ID, "readers")
	if err != nil {
		t.Fatal(err)
	}
	if seg.Title != "News readers" || seg.Rules.ActiveWithin != 30*24*time.Hour || len(seg.Rules.Channels) != 1 ||
		strings.Join(seg.Rules.Tags, ",") != "news" || strings.Join(seg.Rules.TagsNot, ",") != "muted" {
		t.Errorf("stored %+v", seg)
	}
	list := r.get(base)
	if !strings.Contains(list.Body, `data-segment-count="readers">3<`) || !strings.Contains(list.Body, "none of the tags muted") ||
		!strings.Contains(list.Body, "active within 30d") || !strings.Contains(list.Body, "Segment readers saved.") {
		t.Errorf("list:\n%s", list.Body)
	}

	if res := r.post(base, url.Values{"csrf": {csrf}, "name": {"readers"}}); res.Status != http.StatusConflict || !strings.Contains(res.Body, "exists already") {
		t.Errorf("duplicate: %d", res.Status)
	}

	// Edit: the form shows the rules and the count; a rename keeps the id.
	edit := r.get(base + "/readers/edit")
	if edit.Status != 200 || !strings.Contains(edit.Body, `value="30d"`) || !strings.Contains(edit.Body, `data-count="3"`) ||
		!strings.Contains(edit.Body, `value="webpush" checked`) || !strings.Contains(edit.Body, strconv.FormatInt(seg.ID, 10)) {
		t.Errorf("edit page: %d\n%s", edit.Status, edit.Body)
	}
	res = r.post(base+"/readers/edit", url.Values{"csrf": {csrf}, "name": {"all-news"}, "tags": {"news"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", res.Status, res.Body)
	}
	if got, err := r.st.Segment(t.Context(), a.ID, "all-news"); err != nil || got.ID != seg.ID || got.Title != "" || len(got.Rules.TagsNot) != 0 {
		t.Errorf("after the edit: %+v, %v", got, err)
	}
	if res := r.get(base + "/readers/edit"); res.Status != http.StatusNotFound {
		t.Errorf("the old name: %d", res.Status)
	}

	// Compose offers it; a send to it (minus a segment) reaches its members.
	if _, err := r.st.CreateSegment(t.Context(), store.Segment{AppID: a.ID, Name: "muted", Rules: store.SegmentRules{Tags: []string{"muted"}}}); err != nil {
		t.Fatal(err)
	}
	compose := r.get("/admin/apps/" + a.ID + "/compose?target=filter&segments=all-news")
	if !strings.Contains(compose.Body, `name="segments" value="all-news" checked`) || !strings.Contains(compose.Body, `name="segments_exclude" value="muted">`) ||
		!strings.Contains(compose.Body, `data-count="4"`) {
		t.Errorf("compose with a segment:\n%s", compose.Body)
	}
	form := url.Values{"csrf": {csrf}, "target": {"filter"}, "segments": {"all-news"}, "segments_exclude": {"muted"}}
	res = r.post("/admin/apps/"+a.ID+"/audience", form)
	if strings.TrimSpace(res.Body) != `{"count":3}` {
		t.Errorf("audience of all-news minus muted: %s", res.Body)
	}
	form.Set("title", "Hello")
	form.Set("local_time", "09:30")
	res = r.post("/admin/apps/"+a.ID+"/messages", form)
	if res.Status != http.StatusSeeOther {
		t.Fatalf("send: %d\n%s", res.Status, res.Body)
	}
	loc := res.Header.Get("Location")
	id, _ := strconv.ParseInt(loc[strings.LastIndex(loc, "/")+1:], 10, 64)
	m, err := r.st.Message(t.Context(), a.ID, id)
	if err != nil || len(m.Audience.AnyOf) != 1 || len(m.Audience.NoneOf) != 1 || m.LocalTime != "09:30" {
		t.Errorf("sent message %+v, %v", m, err)
	}
	if page := r.get(loc); !strings.Contains(page.Body, "in at least one of 1 segments") || !strings.Contains(page.Body, "09:30 in each subscriber") {
		t.Errorf("the message page does not describe the segment target and the local time")
	}

	// Delete, through a CSRF-checked form.
	if res := r.post(base+"/all-news/delete", url.Values{"csrf": {"wrong"}}); res.Status == http.StatusSeeOther {
		t.Errorf("delete with a bad CSRF token: %d", res.Status)
	}
	if res := r.post(base+"/all-news/delete", url.Values{"csrf": {csrf}}); res.Status != http.StatusSeeOther {
		t.Errorf("delete: %d", res.Status)
	}
	if _, err := r.st.Segment(t.Context(), a.ID, "all-news"); err == nil {
		t.Errorf("the segment is still there")
	}
	if res := r.post(base+"/all-news/delete", url.Values{"csrf": {csrf}}); res.Status != http.StatusNotFound {
		t.Errorf("delete again: %d", res.Status)
	}
}

// TestSegmentPagesShowOnlyTheirApp: another app's segment cannot be seen,
// edited, deleted or sent to.
func TestSegmentPagesShowOnlyTheirApp(t *testing.T) {
	r := newRig(t, nil)
	csrf := r.login()
	a, b := r.newApp("Alpha"), r.newApp("Beta")
	if _, err := r.st.CreateSegment(t.Context(), store.Segment{AppID: b.ID, Name: "beta-only"}); err != nil {
		t.Fatal(err)
	}
	if list := r.get("/admin/apps/" + a.ID + "/segments"); strings.Contains(list.Body, "beta-only") {
		t.Errorf("A's segments list B's")
	}
	if c := r.get("/admin/apps/" + a.ID + "/compose"); strings.Contains(c.Body, "beta-only") {
		t.Errorf("A's compose offers B's segment")
	}
	base := "/admin/apps/" + a.ID + "/segments/beta-only"
	if res := r.get(base + "/edit"); res.Status != http.StatusNotFound {
		t.Errorf("B's segment under A: %d", res.Status)
	}
	if res := r.post(base+"/edit", url.Values{"csrf": {csrf}, "name": {"stolen"}}); res.Status != http.StatusNotFound {
		t.Errorf("edit B's segment under A: %d", res.Status)
	}
	if res := r.post(base+"/delete", url.Values{"csrf": {csrf}}); res.Status != http.StatusNotFound {
		t.Errorf("delete B's segment under A: %d", res.Status)
	}
	res := r.post("/admin/apps/"+a.ID+"/audience", url.Values{"csrf": {csrf}, "target": {"filter"}, "segments": {"beta-only"}})
	if res.Status != http.StatusBadRequest || !strings.Contains(res.Body, `no segment named \"beta-only\"`) {
		t.Errorf("B's segment counted in A: %d %s", res.Status, res.Body)
	}
	if _, err := r.st.Segment(t.Context(), b.ID, "beta-only"); err != nil {
		t.Errorf("B's segment: %v", err)
	}
}
