package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/callback"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

// API holds the services the /v1 handlers use.
type API struct {
	apps     *apps.Service
	channels *apps.Channels
	registry *registry.Service
	send     *send.Service
	messages Messages
	cancel   Canceller
	log      *slog.Logger
	// callbacks sets apps' callback URLs; nil leaves /v1/app/callback out.
	callbacks *callback.Service
}

// Deps are the services the API is built on.
type Deps struct {
	Apps      *apps.Service
	Channels  *apps.Channels
	Registry  *registry.Service
	Send      *send.Service
	Messages  Messages
	Canceller Canceller
	Log       *slog.Logger
	Callbacks *callback.Service
}

// New returns the /v1 API.
func New(d Deps) *API {
	return &API{apps: d.Apps, channels: d.Channels, registry: d.Registry, send: d.Send, messages: d.Messages, cancel: d.Canceller, log: d.Log, callbacks: d.Callbacks}
}

// handlerFunc is an authenticated handler: it gets the caller's app and
// returns an error for the single writer to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request, app store.App) error

// Register mounts the /v1 routes on mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("GET /v1/app", a.auth(a.getApp))
	mux.Handle("PUT /v1/app/fcm", a.auth(a.putFCM))
	mux.Handle("DELETE /v1/app/fcm", a.auth(a.deleteFCM))
	mux.Handle("PUT /v1/app/apns", a.auth(a.putAPNs))
	mux.Handle("DELETE /v1/app/apns", a.auth(a.deleteAPNs))
	if a.callbacks != nil {
		mux.Handle("GET /v1/app/callback", a.auth(a.getCallback))
		mux.Handle("PUT /v1/app/callback", a.auth(a.putCallback))
		mux.Handle("DELETE /v1/app/callback", a.auth(a.deleteCallback))
	}
	mux.Handle("POST /v1/subscribers", a.auth(a.register))
	mux.Handle("GET /v1/subscribers", a.auth(a.listSubscribers))
	mux.Handle("GET /v1/subscribers/{id}", a.auth(a.getSubscriber))
	mux.Handle("PATCH /v1/subscribers/{id}", a.auth(a.updateSubscriber))
	mux.Handle("DELETE /v1/subscribers/{id}", a.auth(a.deleteSubscriber))
	mux.Handle("GET /v1/tags", a.auth(a.listTags))
	mux.Handle("DELETE /v1/tags/{tag}", a.auth(a.deleteTag))
	mux.Handle("GET /v1/aliases/{alias}", a.auth(a.aliasDevices))
	mux.Handle("DELETE /v1/aliases/{alias}", a.auth(a.unbindAlias))
	mux.Handle("POST /v1/messages", a.auth(a.sendMessage))
	mux.Handle("POST /v1/messages/preview-audience", a.auth(a.previewAudience))
	mux.Handle("GET /v1/messages", a.auth(a.listMessages))
	mux.Handle("GET /v1/messages/{id}", a.auth(a.getMessage))
	mux.Handle("GET /v1/messages/{id}/stats", a.auth(a.messageStats))
	mux.Handle("DELETE /v1/messages/{id}", a.auth(a.cancelMessage))
	mux.Handle("POST /v1/segments", a.auth(a.createSegment))
	mux.Handle("GET /v1/segments", a.auth(a.listSegments))
	mux.Handle("GET /v1/segments/{name}", a.auth(a.getSegment))
	mux.Handle("PUT /v1/segments/{name}", a.auth(a.updateSegment(false)))
	mux.Handle("PATCH /v1/segments/{name}", a.auth(a.updateSegment(true)))
	mux.Handle("DELETE /v1/segments/{name}", a.auth(a.deleteSegment))
	mux.Handle("/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, a.log, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
	}))
}

// auth resolves the Bearer API key to an app before calling h.
func (a *API) auth(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app, err := a.authenticate(r.Context(), r.Header.Get("Authorization"))
		if err == nil {
			err = h(w, r, app)
		}
		if err != nil {
			WriteError(w, r, a.log, err)
		}
	})
}

func (a *API) authenticate(ctx context.Context, header string) (store.App, error) {
	scheme, key, ok := strings.Cut(header, " ")
	if header == "" {
		return store.App{}, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "Authorization header is missing; send Authorization: Bearer <api_key>"}
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return store.App{}, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "Authorization header must be Bearer <api_key>"}
	}
	app, err := a.apps.ByAPIKey(ctx, strings.TrimSpace(key))
	if errors.Is(err, apps.ErrUnauthorized) {
		return store.App{}, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "API key matches no app"}
	}
	return app, err
}
