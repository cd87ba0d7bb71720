package najva

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

// The paths, as Najva spells them (with the trailing slash Django wants;
// each is served without it too).
const (
	PathNotifications      = "/api/v1/notifications/"
	PathTokenNotifications = "/notification/api/v1/notifications/"
	PathSegments           = "/api/v1/websites/{api_key}/segments/"
	PathOneSignals         = "/api/v1/one-signals/"
)

// The fixed answers of the seed, verbatim.
const (
	detailCreated      = "notification created successfully!"
	detailUnauthorized = "unauthorized"
	detailNotOwner     = "you are not owner of this website"
	detailNoUser       = "user with this Token does not exists"
	detailNoCreds      = "Authentication credentials were not provided."
	detailBadToken     = "Invalid token."
	detailServerError  = "A server error occurred."
	resultCreated      = "Notification is created successfully."
	resultInvalid      = "Passed data is invalid."
)

// Apps finds the app a Najva token belongs to (apps.Service).
type Apps interface {
	ByNajvaToken(ctx context.Context, token string) (store.App, error)
}

// Sender validates and submits sends (send.Service).
type Sender interface {
	// Message validates r and builds its message without storing it.
	Message(appID string, r send.Request) (store.Message, error)
	// Send validates and stores r.
	Send(ctx context.Context, appID string, r send.Request) (m store.Message, created bool, err error)
}

// Devices looks up one of an app's devices by registration id
// (registry.Service); subscriber tokens are registration ids.
type Devices interface {
	Get(ctx context.Context, appID, registrationID string) (store.Subscriber, error)
}

// Segments reads an app's saved segments and counts their members (the
// store). A nil Segments lists none.
type Segments interface {
	ListSegments(ctx context.Context, appID string) ([]store.Segment, error)
	CountAudience(ctx context.Context, appID string, a store.Audience) (int64, error)
}

// Deps are the services the adapter is built on.
type Deps struct {
	Apps     Apps
	Send     Sender
	Devices  Devices
	Segments Segments // may be nil
	Log      *slog.Logger
}

// Options tune the adapter; the zero value takes the defaults.
type Options struct {
	Now func() time.Time // the clock sent_time is compared with (time.Now)
}

// Handler serves Najva's endpoints.
type Handler struct {
	d   Deps
	now func() time.Time
}

// New returns the Najva adapter.
func New(d Deps, o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Handler{d: d, now: o.Now}
}

// Register mounts the four endpoints on mux, each with and without its
// trailing slash, for every method, so that a wrong one gets a JSON 405
// as Django REST framework answers it.
func (h *Handler) Register(mux *http.ServeMux) {
	routes := []struct {
		path   string
		method string
		auth   authStyle
		fn     handlerFunc
	}{
		{PathNotifications, http.MethodPost, authAccount, h.notifyAll},
		{PathTokenNotifications, http.MethodPost, authDRF, h.notifyTokens},
		{PathSegments, http.MethodGet, authAccount, h.segments},
		{PathOneSignals, http.MethodGet, authAccount, h.oneSignals},
	}
	for _, rt := range routes {
		hd := h.serve(rt.method, rt.auth, rt.fn)
		mux.Handle(rt.path+"{$}", hd)
		mux.Handle(strings.TrimSuffix(rt.path, "/"), hd)
	}
}

// handlerFunc is an authenticated handler; the error it returns is
// rendered by serve.
type handlerFunc func(w http.ResponseWriter, r *http.Request, app store.App) error

// authStyle says which answers an endpoint gives to missing or wrong
// tokens: the account endpoints list 401 and 404; the token send lists
// only 403 "Authentication credentials were not provided.", Django REST
// framework's answer, whose sibling for a wrong token is 403 "Invalid
// token." (our reading).
type authStyle int

const (
	authAccount authStyle = iota
	authDRF
)

// answer is an error answer with its status and JSON body.
type answer struct {
	status int
	body   any
}

func (a *answer) Error() string { return fmt.Sprintf("najva: %d %v", a.status, a.body) }

// detail is the {"detail":"…"} body.
type detail struct {
	Detail string `json:"detail"`
}

func detailAnswer(status int, msg string) *answer { return &answer{status, detail{msg}} }

func (h *Handler) serve(method string, style authStyle, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			h.write(w, r, detailAnswer(http.StatusMethodNotAllowed, fmt.Sprintf("Method %q not allowed.", r.Method)))
			return
		}
		app, err := h.authenticate(r, style)
		if err == nil {
			err = fn(w, r, app)
		}
		if err != nil {
			h.write(w, r, err)
		}
	})
}

// authenticate resolves "Authorization: Token <token>" to an app.
func (h *Handler) authenticate(r *http.Request, style authStyle) (store.App, error) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Token") || token == "" {
		if style == authDRF {
			return store.App{}, detailAnswer(http.StatusForbidden, detailNoCreds)
		}
		return store.App{}, detailAnswer(http.StatusUnauthorized, detailUnauthorized)
	}
	app, err := h.d.Apps.ByNajvaToken(r.Context(), token)
	if errors.Is(err, apps.ErrUnauthorized) {
		if style == authDRF {
			return store.App{}, detailAnswer(http.StatusForbidden, detailBadToken)
		}
		return store.App{}, detailAnswer(http.StatusNotFound, detailNoUser)
	}
	return app, err
}

// owns reports whether apiKey is the app's Najva api_key; another app's
// key, or none's, is 403.
func owns(app store.App, apiKey string) error {
	if app.NajvaAPIKey == "" || !strings.EqualFold(app.NajvaAPIKey, apiKey) {
		return detailAnswer(http.StatusForbidden, detailNotOwner)
	}
	return nil
}

// write renders err. Anything that is not an *answer is a server fault:
// logged with its cause, answered 500 without it.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, err error) {
	var a *answer
	if !errors.As(err, &a) {
		h.d.Log.ErrorContext(r.Context(), "najva: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		a = detailAnswer(http.StatusInternalServerError, detailServerError)
	}
	writeJSON(w, a.status, a.body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}
