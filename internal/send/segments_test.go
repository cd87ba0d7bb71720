package send

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
)

// segmentMap is a SegmentSource over fixed segments, keyed by app.
type segmentMap map[string][]store.Segment

func (m segmentMap) Segment(_ context.Context, appID, name string) (store.Segment, error) {
	for _, s := range m[appID] {
		if s.Name == name {
			return s, nil
		}
	}
	return store.Segment{}, store.ErrNotFound
}

func (m segmentMap) SegmentByID(_ context.Context, appID string, id int64) (store.Segment, error) {
	for _, s := range m[appID] {
		if s.ID == id {
			return s, nil
		}
	}
	return store.Segment{}, store.ErrNotFound
}

func testSegments() segmentMap {
	return segmentMap{
		"app_1": {
			{ID: 1, AppID: "app_1", Name: "hot", Rules: store.SegmentRules{Tags: []string{"news"}, ClickedWithin: 6 * time.Hour}},
			{ID: 2, AppID: "app_1", Name: "fa", Rules: store.SegmentRules{Languages: []string{"fa"}, ActiveWithin: 7 * 24 * time.Hour}},
			{ID: 3, AppID: "app_1", Name: "muted", Rules: store.SegmentRules{Tags: []string{"muted"}}},
		},
		"app_2": {{ID: 9, AppID: "app_2", Name: "theirs"}},
	}
}

func TestSegmentsResolved(t *testing.T) {
	c := &captured{}
	svc := New(c, func() time.Time { return fixedNow }, WithSegments(testSegments()))
	r, err := decode(t, `{"to":{"tags":["x"],"segments":["hot",2],"segments_exclude":["muted"]},"content":{"title":"t"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Send(t.Context(), "app_1", r); err != nil {
		t.Fatal(err)
	}
	a := c.m.Audience
	if len(a.AnyOf) != 2 || len(a.NoneOf) != 1 || a.Tags[0] != "x" {
		t.Fatalf("audience %+v: want the tag, two included and one excluded segment", a)
	}
	if a.AnyOf[0].Tags[0] != "news" || !a.AnyOf[0].ClickedSince.Equal(fixedNow.Add(-6*time.Hour)) {
		t.Errorf("segment hot became %+v", a.AnyOf[0])
	}
	if a.AnyOf[1].Languages[0] != "fa" || !a.AnyOf[1].ActiveSince.Equal(fixedNow.Add(-7*24*time.Hour)) {
		t.Errorf("segment 2 became %+v", a.AnyOf[1])
	}
	if a.NoneOf[0].Tags[0] != "muted" {
		t.Errorf("excluded segment became %+v", a.NoneOf[0])
	}

	// "all" with exclusions (Najva: everyone not excluded) keeps the
	// activity window.
	m, err := svc.Prepare(t.Context(), "app_1", Request{To: &Target{All: true, SegmentsExclude: []SegmentRef{{ID: 3}}}, Content: Content{Title: "t"}})
	if err != nil || len(m.Audience.NoneOf) != 1 || m.Audience.ActiveSince.IsZero() {
		t.Errorf("all minus a segment: %+v, %v", m.Audience, err)
	}
	// Only exclusions: everyone but them.
	r, _ = decode(t, `{"to":{"segments_exclude":[3]},"content":{"title":"t"}}`)
	if m, err = svc.Prepare(t.Context(), "app_1", r); err != nil || len(m.Audience.NoneOf) != 1 {
		t.Errorf("exclusions alone: %+v, %v", m.Audience, err)
	}
}

func TestSegmentErrors(t *testing.T) {
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprint("s", i))
	}
	svc := New(&captured{}, func() time.Time { return fixedNow }, WithSegments(testSegments()))
	tests := []struct{ name, body, field, msg string }{
		{"unknown name", `{"to":{"segments":["hot","nope"]}}`, "to.segments[1]", `to.segments[1]: no segment named "nope"`},
		{"unknown id", `{"to":{"segments_exclude":[77]}}`, "to.segments_exclude[0]", `to.segments_exclude[0]: no segment with id 77`},
		{"another app's name", `{"to":{"segments":["theirs"]}}`, "to.segments[0]", `to.segments[0]: no segment named "theirs"`},
		{"another app's id", `{"to":{"segments":[9]}}`, "to.segments[0]", `to.segments[0]: no segment with id 9`},
		{"wrong type", `{"to":{"segments":["hot",true]}}`, "to.segments[1]", `to.segments[1]: must be a segment name (string) or id (positive integer)`},
		{"zero id", `{"to":{"segments":[0]}}`, "to.segments[0]", `to.segments[0]: must be a segment name (string) or id (positive integer)`},
		{"fraction", `{"to":{"segments":[1.5]}}`, "to.segments[0]", `to.segments[0]: must be a segment name (string) or id (positive integer)`},
		{"empty name", `{"to":{"segments":[""]}}`, "to.segments[0]", `to.segments[0]: must not be empty`},
		{"not a list", `{"to":{"segments":"hot"}}`, "to.segments", `to.segments: must be an array, got string`},
		{"too many", `{"to":{"segments":[` + strings.Join(many, ",") + `]}}`, "to.segments", `to.segments: has 21 entries, at most 20 are allowed`},
		{"local time format", `{"to":"all","local_time":"9:30"}`, "local_time", `local_time: must be a time of day HH:MM, 00:00 to 23:59, got "9:30"`},
		{"local time 24", `{"to":"all","local_time":"24:00"}`, "local_time", `local_time: must be a time of day HH:MM, 00:00 to 23:59, got "24:00"`},
		{"local time minutes", `{"to":"all","local_time":"09:60"}`, "local_time", `local_time: must be a time of day HH:MM, 00:00 to 23:59, got "09:60"`},
		{"local time and spread", `{"to":"all","local_time":"09:00","spread_minutes":5}`, "local_time", `local_time: cannot be combined with spread_minutes`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.TrimSuffix(tc.body, "}") + `,"content":{"title":"t"}}`
			r, err := decode(t, body)
			if err == nil {
				_, err = svc.Prepare(t.Context(), "app_1", r)
			}
			field, msg := "", ""
			var fe *jsonreq.FieldError
			var p *jsonreq.Problem
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

func TestSegmentsNeedASource(t *testing.T) {
	r, _ := decode(t, `{"to":{"segments":["hot"]},"content":{"title":"t"}}`)
	if _, err := New(&captured{}, nil).Prepare(t.Context(), "app_1", r); !errors.Is(err, errNoSegmentSource) {
		t.Errorf("Prepare without a segment source: %v", err)
	}
	svc := New(&captured{}, nil, WithSegments(testSegments()))
	var fe *jsonreq.FieldError
	if _, err := svc.Message("app_1", r); err == nil || errors.As(err, &fe) {
		t.Errorf("Message with segments: %v, want an error that is not the client's", err)
	}
}

func TestLocalTimeKept(t *testing.T) {
	svc := New(&captured{}, func() time.Time { return fixedNow })
	for _, lt := range []string{"00:00", "09:30", "23:59"} {
		r, _ := decode(t, `{"to":"all","content":{"title":"t"},"local_time":"`+lt+`"}`)
		m, err := svc.Message("app_1", r)
		if err != nil || m.LocalTime != lt {
			t.Errorf("local_time %s: %q, %v", lt, m.LocalTime, err)
		}
	}
}
