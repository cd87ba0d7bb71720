package send

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/delivery"
	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
)

var fixedNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

type captured struct{ m store.Message }

func (c *captured) Submit(_ context.Context, m store.Message) (store.Message, bool, error) {
	c.m = m
	m.ID = 7
	return m, true, nil
}

func decode(t *testing.T, body string) (Request, error) {
	t.Helper()
	var r Request
	err := jsonreq.Unmarshal([]byte(body), &r, jsonreq.Options{})
	return r, err
}

func TestBadRequests(t *testing.T) {
	many := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = `"x` + strings.Repeat("y", i%7) + `"`
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	tests := []struct{ name, body, field, msg string }{
		{"no to", `{"content":{"title":"t"}}`, "to", `to: is required: "all" or an object of targets`},
		{"to not all", `{"to":"everyone","content":{"title":"t"}}`, "to", `to: must be "all" or an object of targets, got "everyone"`},
		{"to wrong type", `{"to":5,"content":{"title":"t"}}`, "to", `to: must be "all" or an object of targets`},
		{"to unknown key", `{"to":{"tag":["a"]},"content":{"title":"t"}}`, "to.tag", "to.tag: unknown field"},
		{"to empty", `{"to":{},"content":{"title":"t"}}`, "to", `to: names no target: use "all" or give at least one non-empty list`},
		{"to empty lists", `{"to":{"tags":[],"aliases":[]},"content":{"title":"t"}}`, "to", `to: names no target: use "all" or give at least one non-empty list`},
		{"tags_not alone", `{"to":{"tags_not":["a"]},"content":{"title":"t"}}`, "to.tags_not", "to.tags_not: cannot be used alone: combine it with another target"},
		{"too many ids", `{"to":{"registration_ids":` + many(1001) + `},"content":{"title":"t"}}`, "to.registration_ids", "to.registration_ids: has 1001 entries, at most 1000 are allowed"},
		{"too many tags_and", `{"to":{"tags_and":` + many(21) + `},"content":{"title":"t"}}`, "to.tags_and", "to.tags_and: has 21 entries, at most 20 are allowed"},
		{"too many tags_not", `{"to":{"tags":["a"],"tags_not":` + many(21) + `},"content":{"title":"t"}}`, "to.tags_not", "to.tags_not: has 21 entries, at most 20 are allowed"},
		{"empty tag", `{"to":{"tags":["a",""]},"content":{"title":"t"}}`, "to.tags[1]", "to.tags[1]: must not be empty"},
		{"no content", `{"to":"all"}`, "content", "content: needs a title or a body, or the message needs data"},
		{"bad url", `{"to":"all","content":{"title":"t","url":"nope"}}`, "content.url", "content.url: must be an absolute URL or a path starting with /"},
		{"too large", `{"to":"all","content":{"title":"` + strings.Repeat("x", 4000) + `"}}`, "content", "content: makes a 4039-byte payload; at most 3993 bytes fit in a push"},
		{"negative ttl", `{"to":"all","content":{"title":"t"},"ttl":-1}`, "ttl", "ttl: must be 0 to 2419200 seconds"},
		{"ttl too long", `{"to":"all","content":{"title":"t"},"ttl":2419201}`, "ttl", "ttl: must be 0 to 2419200 seconds"},
		{"ttl wrong type", `{"to":"all","content":{"title":"t"},"ttl":"1h"}`, "ttl", "ttl: must be an integer, got string"},
		{"urgency", `{"to":"all","content":{"title":"t"},"urgency":"asap"}`, "urgency", `urgency: must be very-low, low, normal or high, got "asap"`},
		{"send_at past", `{"to":"all","content":{"title":"t"},"send_at":"2026-11-24T11:00:00Z"}`, "send_at", "send_at: 2026-11-24T11:00:00Z is in the past"},
		{"send_at far", `{"to":"all","content":{"title":"t"},"send_at":"2028-11-24T11:00:00Z"}`, "send_at", "send_at: is more than a year ahead"},
		{"spread", `{"to":"all","content":{"title":"t"},"spread_minutes":1441}`, "spread_minutes", "spread_minutes: must be 0 to 1440"},
		{"dedup chars", `{"to":"all","content":{"title":"t"},"dedup_id":"a b"}`, "dedup_id", "dedup_id: must be 1 to 64 letters, digits, _ or -"},
		{"dedup long", `{"to":"all","content":{"title":"t"},"dedup_id":"` + strings.Repeat("a", 65) + `"}`, "dedup_id", "dedup_id: must be 1 to 64 letters, digits, _ or -"},
		{"request id long", `{"to":"all","content":{"title":"t"},"request_id":"` + strings.Repeat("a", 65) + `"}`, "request_id", "request_id: is longer than 64 bytes"},
		{"custom args large", `{"to":"all","content":{"title":"t"},"custom_args":{"a":"` + strings.Repeat("x", 4100) + `"}}`, "custom_args", "custom_args: is larger than 4096 bytes"},
		{"unknown", `{"to":"all","content":{"title":"t"},"priority":1}`, "priority", "priority: unknown field"},
		{"content unknown", `{"to":"all","content":{"titel":"t"}}`, "content.titel", "content.titel: unknown field"},
	}
	svc := New(&captured{}, func() time.Time { return fixedNow })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decode(t, tc.body)
			if err == nil {
				_, err = svc.Message("app_1", r)
			}
			var fe *jsonreq.FieldError
			var p *jsonreq.Problem
			field, msg := "", ""
			switch {
			case errors.As(err, &fe):
				field, msg = fe.Field, fe.Error()
			case errors.As(err, &p):
				field, msg = p.Field, p.Message
			default:
				t.Fatalf("error %v (%T)", err, err)
			}
			if field != tc.field || msg != tc.msg {
				t.Errorf("got %q %q\nwant %q %q", field, msg, tc.field, tc.msg)
			}
		})
	}
}

func TestMessageFromRequest(t *testing.T) {
	c := &captured{}
	svc := New(c, func() time.Time { return fixedNow })
	r, err := decode(t, `{"to":{"tags":["a","b"],"tags_and":["c"],"tags_not":["d"],"aliases":["u1"]},
		"content":{"title":"T","body":"B","url":"https://x.test/","languages":{"fa":{"title":"ت"}}},
		"data":{"k":1},"ttl":60,"urgency":"high","replace":"promo","send_at":"2026-11-24T13:00:00Z",
		"spread_minutes":10,"dedup_id":"d-1","request_id":"req","custom_args":{"campaign":"x"}}`)
	if err != nil {
		t.Fatal(err)
	}
	m, created, err := svc.Send(context.Background(), "app_1", r)
	if err != nil || !created || m.ID != 7 {
		t.Fatalf("Send: %+v %v %v", m, created, err)
	}
	got := c.m
	if strings.Join(got.Audience.Tags, ",") != "a,b" || got.Audience.TagsAnd[0] != "c" || got.Audience.TagsNot[0] != "d" || got.Audience.Aliases[0] != "u1" {
		t.Errorf("audience %+v", got.Audience)
	}
	if !got.Audience.ActiveSince.IsZero() {
		t.Error("an explicit target must not filter by activity")
	}
	if got.TTL != time.Minute || got.Urgency != "high" || got.Topic != "promo" || got.SpreadSeconds != 600 ||
		got.DedupID != "d-1" || got.RequestID != "req" || string(got.CustomArgs) != `{"campaign":"x"}` ||
		!got.SendAt.Equal(fixedNow.Add(time.Hour)) {
		t.Errorf("options %+v", got)
	}
	var content delivery.Content
	if err := json.Unmarshal(got.Content, &content); err != nil {
		t.Fatal(err)
	}
	if content.Tag != "promo" || content.Languages["fa"].Title != "ت" || string(content.Data) != `{"k":1}` {
		t.Errorf("content %+v", content)
	}
}

func TestAllMeansActiveInThirtyDays(t *testing.T) {
	svc := New(&captured{}, func() time.Time { return fixedNow })
	r, _ := decode(t, `{"to":"all","content":{"title":"t"}}`)
	m, err := svc.Message("app_1", r)
	if err != nil {
		t.Fatal(err)
	}
	if want := fixedNow.Add(-ActiveWindow); !m.Audience.ActiveSince.Equal(want) {
		t.Errorf("active since %v, want %v", m.Audience.ActiveSince, want)
	}
	if m.TTL != DefaultTTL {
		t.Errorf("default ttl %v", m.TTL)
	}
	r, _ = decode(t, `{"to":"all","include_inactive":true,"content":{"title":"t"}}`)
	if m, _ = svc.Message("app_1", r); !m.Audience.ActiveSince.IsZero() {
		t.Error("include_inactive still filters by activity")
	}
}

func TestReplaceTopic(t *testing.T) {
	for key, want := range map[string]string{"promo": "promo", "a_b-C": "a_b-C"} {
		if got, _ := replaceTopic(key); got != want {
			t.Errorf("replaceTopic(%q) = %q", key, got)
		}
	}
	long, _ := replaceTopic("sale of the century: everything must go")
	if len(long) != 32 || strings.ContainsAny(long, "+/=: ") {
		t.Errorf("hashed topic %q", long)
	}
	if again, _ := replaceTopic("sale of the century: everything must go"); again != long {
		t.Error("hashed topic is not stable")
	}
}

func FuzzRequest(f *testing.F) {
	f.Add(`{"to":"all","content":{"title":"t"}}`)
	f.Add(`{"to":{"tags":["a"],"tags_not":["b"]},"content":{"body":"b"},"ttl":5,"send_at":"2026-11-24T13:00:00Z"}`)
	f.Add(`{"to":{"segments":["hot",1],"segments_exclude":["none"]},"content":{"title":"t"},"local_time":"09:30"}`)
	svc := New(&captured{}, func() time.Time { return fixedNow }, WithSegments(testSegments()))
	f.Fuzz(func(t *testing.T, body string) {
		var r Request
		if err := jsonreq.Unmarshal([]byte(body), &r, jsonreq.Options{}); err != nil {
			return
		}
		m, err := svc.Prepare(t.Context(), "app_1", r)
		if err != nil {
			var fe *jsonreq.FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		if len(m.Content) == 0 || m.TTL < 0 || m.TTL > MaxTTL {
			t.Fatalf("accepted a bad message: %+v", m)
		}
	})
}
