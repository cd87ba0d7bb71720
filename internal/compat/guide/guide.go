package guide

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

// maxBody bounds a subscription body; real ones are about 400 bytes.
const maxBody = 16 << 10

// Registrar is the part of the registry the guide needs.
type Registrar interface {
	Register(ctx context.Context, appID string, r registry.Registration) (store.UpsertResult, error)
}

// AppFinder resolves the app a request names, and the app an API key
// belongs to.
type AppFinder interface {
	App(ctx context.Context, id string) (store.App, error)
	ByAPIKey(ctx context.Context, key string) (store.App, error)
}

// Submitter stores a message durably with its delivery job.
type Submitter interface {
	Submit(ctx context.Context, m store.Message) (store.Message, bool, error)
}

// Handler serves the guide's endpoints.
type Handler struct {
	apps       AppFinder
	reg        Registrar
	submit     Submitter
	defaultApp string
	log        *slog.Logger
}

// New returns the guide's handler. defaultApp may be empty.
func New(apps AppFinder, reg Registrar, submit Submitter, defaultApp string, log *slog.Logger) *Handler {
	return &Handler{apps: apps, reg: reg, submit: submit, defaultApp: defaultApp, log: log}
}

// Register mounts the guide's routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("/api/subscription", postOnly(h.subscription))
	mux.HandleFunc("/api/push", postOnly(h.push))
}

// postOnly answers any method but POST with a 405 in the guide's error
// shape (the mux's own 405 is plain text, which the guide's client cannot
// read).
func postOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "method-not-allowed", "Only POST is supported on "+r.URL.Path)
			return
		}
		next(w, r)
	}
}

// errorBody is the guide's error shape.
type errorBody struct {
	Error struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, id, msg string) {
	var b errorBody
	b.Error.ID, b.Error.Message = id, msg
	write(w, status, b)
}

func writeSuccess(w http.ResponseWriter) {
	write(w, http.StatusOK, map[string]map[string]bool{"data": {"success": true}})
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

type subscriptionBody struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256DH string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// parse reads a PushSubscription, also in the guide client's double-encoded
// form (a JSON string holding the subscription's JSON).
func parse(body []byte) (subscriptionBody, bool) {
	var s subscriptionBody
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '"' {
		var inner string
		if json.Unmarshal(body, &inner) != nil {
			return s, false
		}
		body = []byte(inner)
	}
	if json.Unmarshal(body, &s) != nil {
		return s, false
	}
	return s, true
}

func (h *Handler) subscription(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "subscription-too-large", "Subscription body is larger than 16384 bytes")
		return
	}
	sub, ok := parse(body)
	if !ok || sub.Endpoint == "" {
		writeError(w, http.StatusBadRequest, "no-endpoint", "Subscription must have an endpoint")
		return
	}
	app, err := h.app(r)
	var unknown unknownAppError
	switch {
	case errors.As(err, &unknown):
		writeError(w, http.StatusBadRequest, "unknown-app", unknown.msg)
		return
	case err != nil:
		h.log.ErrorContext(r.Context(), "guide: find app", "err", err)
		writeError(w, http.StatusInternalServerError, "unable-to-save-subscription", "Subscription received but failed to save it")
		return
	}
	_, err = h.reg.Register(r.Context(), app.ID, registry.Registration{
		Channel: store.ChannelWebPush, Endpoint: sub.Endpoint, P256DH: sub.Keys.P256DH, Auth: sub.Keys.Auth,
	})
	var fe *registry.FieldError
	switch {
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, "invalid-subscription", strings.TrimPrefix(fe.Error(), "subscription."))
	case err != nil:
		h.log.ErrorContext(r.Context(), "guide: save subscription", "app_id", app.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "unable-to-save-subscription", "Subscription received but failed to save it")
	default:
		writeSuccess(w)
	}
}

// unknownAppError is a request that names no app, or one that does not exist.
type unknownAppError struct{ msg string }

func (e unknownAppError) Error() string { return e.msg }

func (h *Handler) app(r *http.Request) (store.App, error) {
	id := r.URL.Query().Get("app")
	if id == "" {
		id = r.Header.Get("X-Herald-App")
	}
	if id == "" {
		id = h.defaultApp
	}
	if id == "" {
		return store.App{}, unknownAppError{"No app named: pass ?app=<app id> or the header X-Herald-App, or start herald serve with --default-app"}
	}
	app, err := h.apps.App(r.Context(), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.App{}, unknownAppError{"No app with id " + id}
		}
		return store.App{}, err
	}
	return app, nil
}
