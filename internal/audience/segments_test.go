package audience

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
)

func TestParseWindow(t *testing.T) {
	good := map[string]time.Duration{"1h": time.Hour, "6h": 6 * time.Hour, "48h": 48 * time.Hour, "7d": 7 * 24 * time.Hour, "366d": MaxWindow, "8784h": MaxWindow}
	for in, want := range good {
		got, err := ParseWindow(in)
		if err != nil || got != want {
			t.Errorf("ParseWindow(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "h", "0h", "06h", "-1h", "+1h", "1.5h", "1m", "1w", "367d", "8785h", "1 h", "7D", "99999999999999999999d"} {
		if d, err := ParseWindow(in); err == nil {
			t.Errorf("ParseWindow(%q) = %v, want an error", in, d)
		}
	}
	for _, d := range []time.Duration{time.Hour, 36 * time.Hour, 48 * time.Hour, MaxWindow} {
		if back, err := ParseWindow(FormatWindow(d)); err != nil || back != d {
			t.Errorf("round trip of %v via %q: %v, %v", d, FormatWindow(d), back, err)
		}
	}
	if FormatWindow(48*time.Hour) != "2d" || FormatWindow(36*time.Hour) != "36h" || FormatWindow(0) != "" {
		t.Errorf("FormatWindow: %q %q %q", FormatWindow(48*time.Hour), FormatWindow(36*time.Hour), FormatWindow(0))
	}
}

func TestRulesDoc(t *testing.T) {
	tests := []struct {
		name  string
		doc   RulesDoc
		field string // "" when valid
		msg   string
	}{
		{"everyone", RulesDoc{}, "", ""},
		{"tags_not alone is a valid segment", RulesDoc{TagsNot: []string{"muted"}}, "", ""},
		{"full", RulesDoc{Tags: []string{"a"}, TagsAnd: []string{"b"}, TagsNot: []string{"c"}, Languages: []string{"fa"},
			Timezones: []string{"Asia/Tehran"}, Channels: []store.Channel{"webpush"}, ActiveWithin: "6h", ClickedWithin: "7d"}, "", ""},
		{"bad window", RulesDoc{ActiveWithin: "6 hours"}, "rules.active_within", `rules.active_within: must be a number of hours or days from 1h to 366d, like "6h" or "7d", got "6 hours"`},
		{"bad click window", RulesDoc{ClickedWithin: "0d"}, "rules.clicked_within", `rules.clicked_within: must be a number of hours or days from 1h to 366d, like "6h" or "7d", got "0d"`},
		{"too many tags_and", RulesDoc{TagsAnd: strings.Split("a b c d e f g h i j k l m n o p q r s t u", " ")}, "rules.tags_and", "rules.tags_and: has 21 entries, at most 20 are allowed"},
		{"empty tag", RulesDoc{Tags: []string{"a", " "}}, "rules.tags[1]", "rules.tags[1]: must not be empty"},
		{"bad channel", RulesDoc{Channels: []store.Channel{"sms"}}, "rules.channels[0]", `rules.channels[0]: must be webpush, fcm or apns, got "sms"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.doc.Rules("rules")
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Rules = %v", err)
				}
				if back := DocOf(r); back.ActiveWithin != tc.doc.ActiveWithin || back.ClickedWithin != tc.doc.ClickedWithin {
					t.Errorf("DocOf(Rules(%+v)) = %+v", tc.doc, back)
				}
				return
			}
			var fe *jsonreq.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || fe.Error() != tc.msg {
				t.Errorf("Rules = %v, want %s", err, tc.msg)
			}
		})
	}
	if err := ValidateRules("rules", store.SegmentRules{ActiveWithin: time.Minute}); err == nil {
		t.Error("a one-minute window was accepted")
	}
}

func TestSegmentNameAndText(t *testing.T) {
	for _, ok := range []string{"hot", "Clicked_6h", "a", "v1.2-beta", strings.Repeat("x", 64)} {
		if err := ValidateSegmentName("name", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", ".x", "a b", "a/b", "é", strings.Repeat("x", 65)} {
		if err := ValidateSegmentName("name", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := ValidateSegmentText(strings.Repeat("ش", MaxTitleLen), ""); err != nil {
		t.Errorf("a title of %d characters: %v", MaxTitleLen, err)
	}
	var fe *jsonreq.FieldError
	if err := ValidateSegmentText(strings.Repeat("x", MaxTitleLen+1), ""); !errors.As(err, &fe) || fe.Field != "title" {
		t.Errorf("long title: %v", err)
	}
	if err := ValidateSegmentText("", strings.Repeat("x", MaxDescriptionLen+1)); !errors.As(err, &fe) || fe.Field != "description" {
		t.Errorf("long description: %v", err)
	}
}

// FuzzRulesDoc decodes segment rules as the API takes them and checks
// that every refusal names a field under "rules", that accepted rules are
// within the limits, and that they survive DocOf and Rules unchanged.
func FuzzRulesDoc(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"tags":["a"],"tags_and":["b"],"tags_not":["c"],"active_within":"6h","clicked_within":"7d"}`,
		`{"tags_not":["muted"],"channels":["webpush","sms"]}`,
		`{"active_within":"0d","languages":[""]}`,
		`{"clicked_within":"8784h","timezones":["Asia/Tehran"]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var d RulesDoc
		if jsonreq.Unmarshal(body, &d, jsonreq.Options{}) != nil {
			return
		}
		r, err := d.Rules("rules")
		if err != nil {
			var fe *jsonreq.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "rules.") || fe.Message == "" {
				t.Fatalf("Rules(%s) = %v; want a field error under rules", body, err)
			}
			return
		}
		if len(r.TagsAnd) > MaxTagsAnd || len(r.TagsNot) > MaxTagsNot || r.ActiveWithin > MaxWindow || r.ClickedWithin > MaxWindow {
			t.Fatalf("accepted %s over the limits", body)
		}
		again, err := DocOf(r).Rules("rules")
		if err != nil || again.ActiveWithin != r.ActiveWithin || again.ClickedWithin != r.ClickedWithin ||
			strings.Join(again.Tags, "\x00") != strings.Join(r.Tags, "\x00") {
			t.Fatalf("round trip of %s: %+v, %v; want %+v", body, again, err, r)
		}
	})
}
