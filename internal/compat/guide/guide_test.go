package guide

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

type fakeApps struct{ err error }

func (f fakeApps) App(ctx context.Context, id string) (store.App, error) {
	return store.App{ID: id}, f.err
}

func (f fakeApps) ByAPIKey(ctx context.Context, key string) (store.App, error) {
	return store.App{ID: "app_1"}, f.err
}

type failingRegistrar struct{}

func (failingRegistrar) Register(context.Context, string, registry.Registration) (store.UpsertResult, error) {
	return store.UpsertResult{}, errors.New("disk full")
}

// TestStoreFailureAnswers500 checks the guide's exact 500 answer when the
// subscription cannot be saved, which a live server cannot be made to do.
func TestStoreFailureAnswers500(t *testing.T) {
	for name, h := range map[string]*Handler{
		"save fails":   New(fakeApps{}, failingRegistrar{}, nil, "app_1", slog.New(slog.NewTextHandler(io.Discard, nil))),
		"lookup fails": New(fakeApps{err: errors.New("db gone")}, failingRegistrar{}, nil, "app_1", slog.New(slog.NewTextHandler(io.Discard, nil))),
	} {
		mux := http.NewServeMux()
		h.Register(mux)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("POST", "/api/subscription", strings.NewReader(`{"endpoint":"https://fcm.googleapis.com/fcm/send/x"}`)))
		want := `{"error":{"id":"unable-to-save-subscription","message":"Subscription received but failed to save it"}}`
		if w.Code != 500 || strings.TrimSpace(w.Body.String()) != want || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
}

func TestParseAcceptsDoubleEncoding(t *testing.T) {
	for _, body := range []string{
		`{"endpoint":"https://e/1","keys":{"p256dh":"p","auth":"a"}}`,
		`"{\"endpoint\":\"https://e/1\",\"keys\":{\"p256dh\":\"p\",\"auth\":\"a\"}}"`,
	} {
		s, ok := parse([]byte(body))
		if !ok || s.Endpoint != "https://e/1" || s.Keys.P256DH != "p" || s.Keys.Auth != "a" {
			t.Errorf("parse(%s) = %+v, %v", body, s, ok)
		}
	}
	if _, ok := parse([]byte(`"not json inside"`)); ok {
		t.Error("a JSON string without a subscription parsed")
	}
}
