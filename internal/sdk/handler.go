package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/heraldpush/herald/internal/api"
	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/tracking"
	"github.com/heraldpush/herald/internal/webpush"
)

// Apps finds the app a request names.
type Apps interface {
	App(ctx context.Context, id string) (store.App, error)
}

// Channels says whether an app can push through FCM and APNs
// (*apps.Channels); each method's error wraps store.ErrNotFound when not.
type Channels interface {
	FCMInfo(ctx context.Context, appID string) (apps.FCMInfo, error)
	APNsInfo(ctx context.Context, appID string) (apps.APNsInfo, error)
}

// Registry is the part of *registry.Service the SDK uses.
type Registry interface {
	Register(ctx context.Context, appID string, r registry.Registration) (store.UpsertResult, error)
	Get(ctx context.Context, appID, registrationID string) (store.Subscriber, error)
	Update(ctx context.Context, appID, registrationID string, u registry.Update) (store.Subscriber, error)
	Delete(ctx context.Context, appID, registrationID string) error
}

// Deps are what the SDK's endpoints are built on. Channels may be nil:
// then fcm and apns registrations are taken without checking.
type Deps struct {
	Apps       Apps
	Channels   Channels
	Registry   Registry
	Keys       *tracking.Keys // device keys
	DefaultApp string         // herald serve --default-app; may be empty
	Log        *slog.Logger
}

// Handler serves the SDK's files and open endpoints.
type Handler struct {
	d      Deps
	assets []asset
}

// New returns the SDK handler.
func New(d Deps) *Handler {
	return &Handler{d: d, assets: newAssets()}
}

// The SDK's own error codes, beside internal/api's.
const (
	// CodePushNotEnabled: the app has no credentials for the channel a
	// device registers on (webtoapp's "push is not in the plan").
	CodePushNotEnabled = "push_not_enabled"
	// CodeForbidden: the device key does not belong to the registration.
	CodeForbidden = tracking.CodeForbidden
)

// Register mounts the SDK's routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, a := range h.assets {
		cc := cachePlain
		if a.name == "herald-sw.js" {
			cc = cacheWorker
		}
		mux.Handle("GET /sdk/"+a.name, a.serve(cc))
		mux.Handle("GET /sdk/"+a.hashed, a.serve(cacheImmutable))
	}
	open := func(f func(w http.ResponseWriter, r *http.Request) error) http.Handler {
		return tracking.CORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := f(w, r); err != nil {
				api.WriteError(w, r, h.d.Log, err)
			}
		}))
	}
	mux.Handle("GET /sdk/config", open(h.config))
	mux.Handle("POST /sdk/v1/subscribers", open(h.register))
	mux.Handle("PATCH /sdk/v1/subscribers/{id}", open(h.update))
	mux.Handle("DELETE /sdk/v1/subscribers/{id}", open(h.delete))
	mux.HandleFunc("OPTIONS /sdk/config", tracking.Preflight)
	mux.HandleFunc("OPTIONS /sdk/v1/subscribers", tracking.Preflight)
	mux.HandleFunc("OPTIONS /sdk/v1/subscribers/{id}", tracking.Preflight)
}

// app resolves the app a request names (?app=, X-Herald-App, default).
func (h *Handler) app(r *http.Request) (store.App, error) {
	id := tracking.RequestApp(r, h.d.DefaultApp)
	if id == "" {
		return store.App{}, &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalidField, Field: "app",
			Message: "app: no app named; pass ?app=<app id> (herald serve can also take --default-app)"}
	}
	a, err := h.d.Apps.App(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return store.App{}, &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Field: "app", Message: "app " + id + " not found"}
	}
	return a, err
}

// configJSON is GET /sdk/config.
type configJSON struct {
	App            string            `json:"app"`
	VAPIDPublicKey string            `json:"vapid_public_key"`
	Channels       map[string]bool   `json:"channels"`
	Files          map[string]string `json:"files"`
}

func (h *Handler) config(w http.ResponseWriter, r *http.Request) error {
	a, err := h.app(r)
	if err != nil {
		return err
	}
	c := configJSON{App: a.ID, VAPIDPublicKey: webpush.EncodeBase64(a.VAPIDPublicKey), Channels: map[string]bool{string(store.ChannelWebPush): true}, Files: map[string]string{}}
	for _, ch := range []store.Channel{store.ChannelFCM, store.ChannelAPNs} {
		on, err := h.enabled(r.Context(), a.ID, ch)
		if err != nil {
			return err
		}
		c.Channels[string(ch)] = on
	}
	for _, as := range h.assets {
		c.Files[as.name] = "/sdk/" + as.hashed
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, c)
	return nil
}

// enabled says whether app can push through ch.
func (h *Handler) enabled(ctx context.Context, appID string, ch store.Channel) (bool, error) {
	var err error
	switch {
	case ch == store.ChannelWebPush || h.d.Channels == nil:
		return true, nil
	case ch == store.ChannelFCM:
		_, err = h.d.Channels.FCMInfo(ctx, appID)
	case ch == store.ChannelAPNs:
		_, err = h.d.Channels.APNsInfo(ctx, appID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}
