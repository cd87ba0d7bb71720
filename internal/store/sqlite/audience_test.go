package sqlite

import (
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// TestAudiencePlans pins the query plans audience pages rely on: each
// driver walks its index from the cursor in id order, with no sort of
// the app's rows, so that a page costs its own size.
func TestAudiencePlans(t *testing.T) {
	s := openTest(t, Options{})
	cases := []struct {
		name   string
		a      store.Audience
		driver driver
		want   []string
		sorts  bool // a temporary b-tree is fine: the rows named are few
	}{
		{"scan", store.Audience{Tags: []string{"a", "b"}, TagsNot: []string{"c"}, Languages: []string{"en"}}, driver{},
			[]string{"SEARCH s USING COVERING INDEX subscribers_audience (app_id=? AND id>?)"}, false},
		{"tag", store.Audience{TagsAnd: []string{"a"}, ActiveSince: benchNow}, driver{tag: "a"},
			[]string{"SEARCH t USING PRIMARY KEY (app_id=? AND tag=? AND subscriber_id>?)",
				"SEARCH s USING INTEGER PRIMARY KEY (rowid=?)"}, false},
		{"intersect", store.Audience{TagsAnd: []string{"a", "b", "c"}, Languages: []string{"en"}}, driver{tag: "a", and: "b"},
			[]string{"MERGE (INTERSECT)", "SEARCH subscriber_tags USING PRIMARY KEY (app_id=? AND tag=? AND subscriber_id>?)",
				"SEARCH s USING INTEGER PRIMARY KEY (rowid=?)"}, false},
		{"union", store.Audience{Tags: []string{"a", "b", "c"}, TagsNot: []string{"d"}, Languages: []string{"en"}}, driver{union: true},
			[]string{"MERGE (UNION)", "SEARCH subscriber_tags USING PRIMARY KEY (app_id=? AND tag=? AND subscriber_id>?)",
				"SEARCH s USING INTEGER PRIMARY KEY (rowid=?)"}, false},
		{"segments", store.Audience{Tags: []string{"a"}, AnyOf: []store.Audience{{Tags: []string{"b"}, ClickedSince: benchNow},
			{Languages: []string{"en"}, ActiveSince: benchNow}}, NoneOf: []store.Audience{{TagsAnd: []string{"c", "d"}}}}, driver{},
			[]string{"SEARCH s USING COVERING INDEX subscribers_audience (app_id=? AND id>?)"}, false},
		{"registration ids", store.Audience{RegistrationIDs: []string{"r1", "r2"}, Tags: []string{"a"}}, driver{},
			[]string{"(registration_id=?)"}, true},
		{"aliases", store.Audience{Aliases: []string{"u1"}}, driver{},
			[]string{"SEARCH s USING INDEX subscribers_app_alias (app_id=? AND alias=?)"}, true},
	}
	for _, c := range cases {
		p := compileAudience("app", c.a)
		q, args := p.chunkSQL(c.driver, 0, 500, false)
		rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "\n")
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: plan lacks %q:\n%s", c.name, w, all)
			}
		}
		if !c.sorts && strings.Contains(all, "TEMP B-TREE") {
			t.Errorf("%s: plan sorts:\n%s", c.name, all)
		}
		if strings.Contains(all, "SCAN s") {
			t.Errorf("%s: plan scans the table:\n%s", c.name, all)
		}
	}
}
