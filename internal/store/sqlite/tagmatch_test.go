package sqlite

import (
	"slices"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// oddTags are tags that JSON must escape or that could fool a naive split.
var oddTags = []string{`plain`, `with "quotes"`, `back\slash`, `comma","split`, "tab\tand\nnewline",
	"\x01ctl", `ünïcødé 标签`, "bad utf8 \xff\xfe", `[]`, ` spaced `, `\u0041`}

func TestTagsJSONRoundTrip(t *testing.T) {
	for _, set := range [][]string{nil, {}, {"one"}, oddTags} {
		enc := tagsJSON(normTags(set))
		var got []string
		if err := eachTag(enc, func(s string) bool { got = append(got, s); return true }); err != nil {
			t.Fatalf("eachTag(%s): %v", enc, err)
		}
		if want := normTags(set); !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("round trip of %q through %s = %q", want, enc, got)
		}
	}
	for _, bad := range []string{``, `[`, `["a"`, `["a",]`, `[a]`, `["a"x]`, `["\u12"]`, `["\q"]`} {
		if err := eachTag(bad, func(string) bool { return true }); err == nil {
			t.Errorf("eachTag(%s) accepted malformed JSON", bad)
		}
	}
}

// TestOddTagsMatch checks both writers of subscribers.tags, Go's on upsert
// and SQLite's json_group_array on update, against audience matching.
func TestOddTagsMatch(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	if err := s.CreateApp(ctx, store.App{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	sub := benchSub("a", 1)
	sub.Tags = oddTags
	res, err := s.UpsertSubscriber(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		for _, tag := range oddTags {
			for _, a := range []store.Audience{{Tags: []string{tag, "nobody"}}, {TagsAnd: []string{tag, "plain"}}} {
				page, err := s.AudiencePage(ctx, "a", a, 0, 10)
				if err != nil || len(page) != 1 || page[0].ID != res.Subscriber.ID {
					t.Errorf("%s: AudiencePage(%+v) = %v, %v; want the subscriber", step, a, page, err)
				}
			}
			page, err := s.AudiencePage(ctx, "a", store.Audience{Tags: []string{"plain"}, TagsNot: []string{tag}}, 0, 10)
			if err != nil || len(page) != 0 {
				t.Errorf("%s: excluding %q: %v, %v; want nobody", step, tag, page, err)
			}
		}
	}
	check("after upsert")
	if _, err := s.UpdateSubscriber(ctx, "a", res.Subscriber.RegistrationID, store.SubscriberUpdate{
		Tags: &store.TagChange{Add: []string{"extra"}},
	}); err != nil {
		t.Fatal(err)
	}
	check("after update")
	if _, err := s.DeleteTag(ctx, "a", "extra"); err != nil {
		t.Fatal(err)
	}
	check("after DeleteTag")
}
