package admin

import (
	"regexp"
	"strings"
	"testing"
)

func TestPaging(t *testing.T) {
	r := newRig(t, nil)
	r.login()
	a := r.newApp("A")
	for i := range 2*subscriberPage + 7 {
		r.subscribe(a.ID, i, "en", "t")
	}
	rowRE := regexp.MustCompile(`<th scope="row"><code>(r_[^<]+)</code>`)
	nextRE := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	seen := map[string]bool{}
	next := "/admin/apps/" + a.ID + "/subscribers?tag=t"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatalf("more pages than there are subscribers")
		}
		body := r.get(strings.ReplaceAll(next, "&amp;", "&")).Body
		if !strings.Contains(body, `data-matching="107"`) {
			t.Errorf("page %d does not count all 107 matches", pages)
		}
		for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("subscriber %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := nextRE.FindStringSubmatch(body); m != nil {
			next = m[1]
		}
	}
	if len(seen) != 2*subscriberPage+7 {
		t.Errorf("the pages listed %d subscribers, want %d", len(seen), 2*subscriberPage+7)
	}

	for range messagePage + 5 {
		r.sendVia(a.ID, "t")
	}
	first := r.get("/admin/apps/" + a.ID + "/messages").Body
	older := nextRE.FindStringSubmatch(first)
	if n := strings.Count(first, `<span class="state`); n != messagePage || older == nil {
		t.Fatalf("first page of messages: %d rows, next %v", n, older)
	}
	second := r.get(older[1]).Body
	if n := strings.Count(second, `<span class="state`); n != 5 || nextRE.MatchString(second) {
		t.Errorf("second page of messages: %d rows, want 5 and no next page", n)
	}
}
