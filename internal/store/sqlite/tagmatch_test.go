package sqlite

import (
	"fmt"
	"slices"
	"testing"
	"time"

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

// TestChannelWithSeparator reads a channel holding the chunk separator
// (char(30)), which only the packed fallback can carry.
func TestChannelWithSeparator(t *testing.T) {
	s := openTest(t, Options{})
	ctx := t.Context()
	if err := s.CreateApp(ctx, store.App{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	var want []store.Recipient
	for i, ch := range []store.Channel{store.ChannelFCM, "odd\x1echannel", store.ChannelAPNs} {
		res, err := s.UpsertSubscriber(ctx, store.Subscriber{AppID: "a", Channel: ch, Token: fmt.Sprint("t", i), Tags: []string{"x", "y"}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, store.Recipient{ID: res.Subscriber.ID, Channel: ch})
	}
	nested := store.Audience{AnyOf: []store.Audience{{Languages: []string{"zz"}}, {Tags: []string{"x"}, ActiveSince: time.Unix(0, 0)}},
		NoneOf: []store.Audience{{Tags: []string{"z"}}}} // masks in the packed form
	for _, a := range []store.Audience{{}, {Tags: []string{"x", "z"}}, {TagsAnd: []string{"y"}}, {TagsNot: []string{"z"}, Tags: []string{"y"}}, nested} {
		got, err := s.AudiencePage(ctx, "a", a, 0, 10)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("AudiencePage(%+v) = %+v, %v; want %+v", a, got, err, want)
		}
	}
}

func TestSplitColumns(t *testing.T) {
	recs, ok := splitColumns("1,22,333", "a\x1eb\x1ec", "", "[]\x1e[\"x\"]\x1e[]", 3, nil)
	want := []candidate{{1, 0, "a", "[]"}, {22, 0, "b", `["x"]`}, {333, 0, "c", "[]"}}
	if !ok || !slices.Equal(recs, want) {
		t.Errorf("splitColumns = %v, %v; want %v", recs, ok, want)
	}
	recs, ok = splitColumns("1,22", "a\x1eb", "5,0", "", 2, nil)
	want = []candidate{{1, 5, "a", "[]"}, {22, 0, "b", "[]"}}
	if !ok || !slices.Equal(recs, want) {
		t.Errorf("splitColumns with masks = %v, %v; want %v", recs, ok, want)
	}
	for _, c := range []struct {
		ids, chs, tags string
		rows           int
		masks          string
	}{
		{"1,2", "a\x1eb\x1ec", "", 2, ""}, // a channel too many
		{"1,2", "a", "", 2, ""},           // one too few
		{"1,2,3", "a\x1eb", "", 2, ""},    // an id too many
		{"1,x", "a\x1eb", "", 2, ""},      // not a number
		{"1,2", "a\x1eb", "[]", 2, ""},    // tags too few
		{"", "", "", 1, ""},
		{"1,2", "a\x1eb", "", 2, "1"},     // masks too few
		{"1,2", "a\x1eb", "", 2, "1,2,3"}, // masks too many
	} {
		if _, ok := splitColumns(c.ids, c.chs, c.masks, c.tags, c.rows, nil); ok {
			t.Errorf("splitColumns(%q, %q, %q, %d) accepted it", c.ids, c.chs, c.tags, c.rows)
		}
	}
}
