package registry

import (
	"regexp"
	"testing"
	"time"
)

func TestRegistrationIDsSortByIssueTimeAndStayUnguessable(t *testing.T) {
	shape := regexp.MustCompile(`^r_[0-9a-f]{13}[A-Za-z0-9_-]{22}$`)
	t0 := time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC)
	prev := ""
	seen := map[string]bool{}
	for i := range 1000 {
		at := t0.Add(time.Duration(i/10) * time.Microsecond) // ten ids per microsecond
		id := newRegistrationID(at)
		if !shape.MatchString(id) {
			t.Fatalf("id %q does not have the shape r_<13 hex><22 base64url>", id)
		}
		if seen[id] {
			t.Fatalf("id %q issued twice", id)
		}
		seen[id] = true
		if i%10 == 0 && id <= prev {
			t.Errorf("id %q issued a microsecond after %q sorts before it", id, prev)
		}
		prev = id
	}
	if a, b := newRegistrationID(t0), newRegistrationID(t0); a[:15] != b[:15] || a[15:] == b[15:] {
		t.Errorf("two ids of one instant %q, %q: want the same time part and different random parts", a, b)
	}
}
