package audience

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
)

func list(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func TestValidate(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		a     store.Audience
		field string // "" when valid
	}{
		{"everyone", store.Audience{}, ""},
		{"issue example", store.Audience{Tags: []string{"a", "b"}, TagsAnd: []string{"c", "d"}, TagsNot: []string{"e", "f"}}, ""},
		{"empty lists are absent", store.Audience{Tags: []string{}, TagsNot: []string{}}, ""},
		{"registration ids at the limit", store.Audience{RegistrationIDs: list(MaxRegistrationIDs, "r")}, ""},
		{"registration ids over the limit", store.Audience{RegistrationIDs: list(MaxRegistrationIDs+1, "r")}, "to.registration_ids"},
		{"tags_and at the limit", store.Audience{TagsAnd: list(MaxTagsAnd, "t")}, ""},
		{"tags_and over the limit", store.Audience{TagsAnd: list(MaxTagsAnd+1, "t")}, "to.tags_and"},
		{"tags_not at the limit", store.Audience{Tags: []string{"x"}, TagsNot: list(MaxTagsNot, "t")}, ""},
		{"tags_not over the limit", store.Audience{Tags: []string{"x"}, TagsNot: list(MaxTagsNot+1, "t")}, "to.tags_not"},
		{"tags over the limit", store.Audience{Tags: list(MaxTags+1, "t")}, "to.tags"},
		{"aliases over the limit", store.Audience{Aliases: list(MaxAliases+1, "u")}, "to.aliases"},
		{"languages over the limit", store.Audience{Languages: list(MaxLanguages+1, "l")}, "to.languages"},
		{"timezones over the limit", store.Audience{Timezones: list(MaxTimezones+1, "z")}, "to.timezones"},
		{"tags_not alone", store.Audience{TagsNot: []string{"muted"}}, "to.tags_not"},
		{"tags_not with tags", store.Audience{Tags: []string{"news"}, TagsNot: []string{"muted"}}, ""},
		{"tags_not with tags_and", store.Audience{TagsAnd: []string{"news"}, TagsNot: []string{"muted"}}, ""},
		{"tags_not with registration ids", store.Audience{RegistrationIDs: []string{"r1"}, TagsNot: []string{"muted"}}, ""},
		{"tags_not with aliases", store.Audience{Aliases: []string{"u1"}, TagsNot: []string{"muted"}}, ""},
		{"tags_not with a language", store.Audience{Languages: []string{"fa"}, TagsNot: []string{"muted"}}, ""},
		{"tags_not with a channel", store.Audience{Channels: []store.Channel{store.ChannelFCM}, TagsNot: []string{"muted"}}, ""},
		{"tags_not with activity (all active)", store.Audience{ActiveSince: since, TagsNot: []string{"muted"}}, ""},
		{"empty tag", store.Audience{Tags: []string{"a", "b", ""}}, "to.tags[2]"},
		{"blank alias", store.Audience{Aliases: []string{"  "}}, "to.aliases[0]"},
		{"empty tags_and entry", store.Audience{TagsAnd: []string{"a", ""}}, "to.tags_and[1]"},
		{"empty registration id", store.Audience{RegistrationIDs: []string{""}}, "to.registration_ids[0]"},
		{"long tag", store.Audience{Tags: []string{strings.Repeat("x", MaxValueLen+1)}}, "to.tags[0]"},
		{"tag at the length limit", store.Audience{Tags: []string{strings.Repeat("x", MaxValueLen)}}, ""},
		{"channels", store.Audience{Channels: []store.Channel{store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs}}, ""},
		{"unknown channel", store.Audience{Channels: []store.Channel{store.ChannelFCM, "sms"}}, "to.channels[1]"},
		{"too many channels", store.Audience{Channels: []store.Channel{"fcm", "fcm", "fcm", "fcm"}}, "to.channels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.a)
			if c.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var fe *jsonreq.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v (%T), want a *jsonreq.FieldError for %s", err, err, c.field)
			}
			if fe.Field != c.field || fe.Message == "" {
				t.Errorf("Validate: field %q message %q, want field %q and a message", fe.Field, fe.Message, c.field)
			}
		})
	}
}

// FuzzValidate decodes a target as a request body would carry it and
// checks that Validate never panics, that every error names a field under
// "to", and that whatever it accepts is within the limits.
func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"tags":["a","b"],"tags_and":["c","d"],"tags_not":["e","f"]}`,
		`{"tags_not":["muted"]}`,
		`{"registration_ids":["r1",""],"channels":["fcm","sms"]}`,
		`{"aliases":[" "],"languages":["fa"],"active_since":"2026-01-01T00:00:00Z"}`,
		`{"tags_and":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20","21"]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var a store.Audience
		if json.Unmarshal(body, &a) != nil {
			return
		}
		err := Validate(a)
		if err != nil {
			var fe *jsonreq.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, Field+".") || fe.Message == "" {
				t.Fatalf("Validate(%s) = %v; want a *jsonreq.FieldError under %q", body, err, Field)
			}
			return
		}
		if len(a.RegistrationIDs) > MaxRegistrationIDs || len(a.TagsAnd) > MaxTagsAnd || len(a.TagsNot) > MaxTagsNot {
			t.Fatalf("Validate accepted %s over the limits", body)
		}
		if len(a.TagsNot) > 0 && len(a.RegistrationIDs)+len(a.Tags)+len(a.TagsAnd)+len(a.Aliases)+
			len(a.Languages)+len(a.Timezones)+len(a.Channels) == 0 && a.ActiveSince.IsZero() {
			t.Fatalf("Validate accepted tags_not alone: %s", body)
		}
		for _, l := range [][]string{a.RegistrationIDs, a.Tags, a.TagsAnd, a.TagsNot, a.Aliases, a.Languages, a.Timezones} {
			for _, v := range l {
				if strings.TrimSpace(v) == "" || len(v) > MaxValueLen {
					t.Fatalf("Validate accepted the value %q in %s", v, body)
				}
			}
		}
		// Accepted expressions survive a JSON round trip unchanged in verdict.
		again, _ := json.Marshal(a)
		var b store.Audience
		if err := json.Unmarshal(again, &b); err != nil || Validate(b) != nil {
			t.Fatalf("round trip of an accepted %s: %v, %v", again, err, Validate(b))
		}
	})
}
