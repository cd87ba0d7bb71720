package engagelab

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

// recordingRegistry records the updates the device API makes.
type recordingRegistry struct {
	updates []registry.Update
}

func (f *recordingRegistry) Get(_ context.Context, _, id string) (store.Subscriber, error) {
	return store.Subscriber{RegistrationID: id}, nil
}

func (f *recordingRegistry) Update(_ context.Context, _, id string, u registry.Update) (store.Subscriber, error) {
	f.updates = append(f.updates, u)
	return store.Subscriber{RegistrationID: id, Tags: u.AddTags}, nil
}

func (f *recordingRegistry) List(context.Context, string, registry.Filter) ([]store.Subscriber, int64, error) {
	return nil, 0, nil
}

func (f *recordingRegistry) Tags(context.Context, string) ([]store.TagCount, error) { return nil, nil }

func (f *recordingRegistry) DeleteTag(context.Context, string, string) (int64, error) { return 0, nil }

func (f *recordingRegistry) UnbindAlias(context.Context, string, string) (int64, error) {
	return 0, nil
}

// FuzzSetDevice posts arbitrary bodies to POST /v4/devices/{id}. Each is
// either applied (200, one update that changes tags or alias) or refused
// with a code of the contract's table at its status, changing nothing.
func FuzzSetDevice(f *testing.F) {
	for _, s := range []string{`{"tags":{"add":["vip","news"],"remove":["old"]},"alias":"user-1"}`, `{"tags":""}`, `{"alias":""}`,
		`{"tags":"vip"}`, `{"mobile":"1"}`, `{}`, ``, `[]`, `{"tags":{"add":"x"}}`} {
		f.Add(s)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, body string) {
		reg := &recordingRegistry{}
		mux := http.NewServeMux()
		New(Deps{Apps: fakeApps{}, Send: &fakeSender{}, Store: fakeStore{}, Registry: reg, Log: log}, Options{}).Register(mux)
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v4/devices/r_abc", strings.NewReader(body))
		r.Header.Set("Authorization", basic(testKey, testSecret))
		mux.ServeHTTP(w, r)
		if w.Code == 200 {
			if len(reg.updates) != 1 {
				t.Fatalf("%q: 200 after %d updates", body, len(reg.updates))
			}
			u := reg.updates[0]
			if u.Tags == nil && u.AddTags == nil && u.RemoveTags == nil && u.Alias == nil {
				t.Fatalf("%q: an update that changes nothing", body)
			}
			return
		}
		var e Error
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || statusOf[e.Code] != w.Code || e.Message == "" {
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		}
		if len(reg.updates) != 0 {
			t.Fatalf("%q: refused after an update", body)
		}
	})
}
