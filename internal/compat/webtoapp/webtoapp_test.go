package webtoapp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

type fakeApps struct{}

func (fakeApps) ByWebtoappKey(context.Context, string) (store.App, error) {
	return store.App{ID: "app_1"}, nil
}

type fakeDevices struct{ err error }

// Find knows registration ids r_… and native tokens fcm-<rid>, which
// name the device r_<rid>.
func (f fakeDevices) Find(_ context.Context, _, token string) (store.Subscriber, error) {
	if f.err != nil {
		return store.Subscriber{}, f.err
	}
	if rid, ok := strings.CutPrefix(token, "fcm-"); ok {
		return store.Subscriber{RegistrationID: "r_" + rid}, nil
	}
	if !strings.HasPrefix(token, "r_") {
		return store.Subscriber{}, registry.ErrNotFound
	}
	return store.Subscriber{RegistrationID: token}, nil
}

type fakeSender struct {
	got []send.Request
	err error
}

func (f *fakeSender) Send(_ context.Context, _ string, r send.Request) (store.Message, bool, error) {
	f.got = append(f.got, r)
	return store.Message{ID: 9}, true, f.err
}

func post(h *Handler, body string) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	h.Register(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("POST", Path+"?api_key=wta_x", strings.NewReader(body)))
	return w
}

// TestTokensOnce checks repeated tokens, and a device named by its
// registration id and its native token, are sent to once and counted once.
func TestTokensOnce(t *testing.T) {
	s := &fakeSender{}
	var logs bytes.Buffer
	w := post(New(fakeApps{}, fakeDevices{}, s, slog.New(slog.NewTextHandler(&logs, nil))), `{"tokens":["r_a","r_b","r_a","old","fcm-a","fcm-c"],"title":"t"}`)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"id":"9","count":3,"unknown_tokens":["old"]}` {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if len(s.got) != 1 || strings.Join(s.got[0].To.RegistrationIDs, ",") != "r_a,r_b,r_c" {
		t.Errorf("sent %+v", s.got)
	}
}

// TestServerFault checks a store failure is a 500 that hides its cause
// and logs it without the query string.
func TestServerFault(t *testing.T) {
	for name, h := range map[string]func(log *slog.Logger) *Handler{
		"lookup": func(log *slog.Logger) *Handler {
			return New(fakeApps{}, fakeDevices{err: errors.New("disk on fire")}, &fakeSender{}, log)
		},
		"send": func(log *slog.Logger) *Handler {
			return New(fakeApps{}, fakeDevices{}, &fakeSender{err: errors.New("disk on fire")}, log)
		},
	} {
		var logs bytes.Buffer
		w := post(h(slog.New(slog.NewTextHandler(&logs, nil))), `{"tokens":["r_a"],"title":"t"}`)
		want := `{"error":{"code":"internal","message":"internal error; the server log has the cause"}}`
		if w.Code != 500 || strings.TrimSpace(w.Body.String()) != want {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
		if !strings.Contains(logs.String(), "disk on fire") || strings.Contains(logs.String(), "wta_x") {
			t.Errorf("%s: log %s", name, logs.String())
		}
	}
}
