package engagelab

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

// Defaults of Options.
const (
	// DefaultRate is EngageLab's standard limit: 500 requests a second per
	// AppKey on /v4/push.
	DefaultRate = 500
	// DefaultBurst lets a client use a whole second's allowance at once.
	DefaultBurst = 500
	// DefaultTimeout bounds the store work of one request; past it the
	// answer is 21030 (retry later), well before the server's write
	// timeout cuts the connection.
	DefaultTimeout = 15 * time.Second
)

// appKeyRE is the form of an AppKey: 24 lower-case hex digits
// (apps.Service makes them so, as EngageLab does).
var appKeyRE = regexp.MustCompile(`^[0-9a-f]{24}$`)

// Apps checks EngageLab credentials (apps.Service).
type Apps interface {
	ByEngageLab(ctx context.Context, appKey, masterSecret string) (store.App, error)
}

// Sender validates and submits sends (send.Service).
type Sender interface {
	// Message validates r and builds its message without storing it.
	Message(appID string, r send.Request) (store.Message, error)
	// Send validates and stores r; created is false for a repeated dedup id.
	Send(ctx context.Context, appID string, r send.Request) (m store.Message, created bool, err error)
}

// Store is what the adapter reads directly: earlier messages (for
// override_msg_id) and whether a target matches anyone (21011).
type Store interface {
	Message(ctx context.Context, appID string, id int64) (store.Message, error)
	AudiencePage(ctx context.Context, appID string, a store.Audience, afterID int64, limit int) ([]store.Recipient, error)
}

// Registry is the part of registry.Service the device API uses.
type Registry interface {
	Get(ctx context.Context, appID, registrationID string) (store.Subscriber, error)
	Update(ctx context.Context, appID, registrationID string, u registry.Update) (store.Subscriber, error)
	List(ctx context.Context, appID string, f registry.Filter) ([]store.Subscriber, int64, error)
	Tags(ctx context.Context, appID string) ([]store.TagCount, error)
	DeleteTag(ctx context.Context, appID, tag string) (int64, error)
	UnbindAlias(ctx context.Context, appID, alias string) (int64, error)
}

// Deps are the services the adapter is built on.
type Deps struct {
	Apps     Apps
	Send     Sender
	Store    Store
	Registry Registry
	Log      *slog.Logger
}

// Options tune the adapter; the zero value takes the defaults.
type Options struct {
	Rate    float64          // /v4/push requests a second per app (DefaultRate)
	Burst   int              // requests at once (DefaultBurst)
	Timeout time.Duration    // store work per request (DefaultTimeout)
	Now     func() time.Time // clock of the rate limiter
}

// Handler serves EngageLab's endpoints.
type Handler struct {
	d       Deps
	limit   *limiter
	timeout time.Duration
}

// New returns the EngageLab adapter.
func New(d Deps, o Options) *Handler {
	if o.Rate <= 0 {
		o.Rate = DefaultRate
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Handler{d: d, limit: newLimiter(o.Rate, o.Burst, o.Now), timeout: o.Timeout}
}

// Register mounts /v4/push and the device API on mux. Each path takes
// every method, so that a wrong one gets EngageLab's 21001 in JSON rather
// than the mux's plain-text 405.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("/v4/push", h.serve(map[string]handlerFunc{"POST": h.push}))
	mux.Handle("/v4/devices/{registration_id}", h.serve(map[string]handlerFunc{"GET": h.getDevice, "POST": h.setDevice}))
	mux.Handle("/v4/tags", h.serve(map[string]handlerFunc{"GET": h.listTags}))
	mux.Handle("/v4/tags/{tag}", h.serve(map[string]handlerFunc{"DELETE": h.deleteTag}))
	mux.Handle("/v4/aliases/{alias}", h.serve(map[string]handlerFunc{"GET": h.aliasDevices, "DELETE": h.unbindAlias}))
}

// handlerFunc is an authenticated handler; the error it returns is
// rendered by serve.
type handlerFunc func(w http.ResponseWriter, r *http.Request, app store.App) error

// serve checks the method, then the credentials, then calls the method's
// handler and renders its error.
func (h *Handler) serve(methods map[string]handlerFunc) http.Handler {
	allowed := make([]string, 0, len(methods))
	for m := range methods {
		allowed = append(allowed, m)
	}
	slices.Sort(allowed)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn, ok := methods[r.Method]
		if !ok {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			verb := "is"
			if len(allowed) > 1 {
				verb = "are"
			}
			h.writeError(w, r, fail(CodeMethod, "only %s %s supported on %s, got %s", strings.Join(allowed, " and "), verb, r.URL.Path, r.Method))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
		defer cancel()
		r = r.WithContext(ctx)
		app, err := h.authenticate(r)
		if err == nil {
			err = fn(w, r, app)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

// authenticate resolves Basic AppKey:MasterSecret to an app.
func (h *Handler) authenticate(r *http.Request) (store.App, error) {
	header := strings.TrimSpace(r.Header.Get("Authorization"))
	if header == "" {
		return store.App{}, fail(CodeAuthEmpty, "authentication info is empty: send Authorization: Basic base64(AppKey:MasterSecret)")
	}
	scheme, cred, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return store.App{}, fail(CodeAuthFailed, "authentication failed: Authorization must be Basic base64(AppKey:MasterSecret)")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return store.App{}, fail(CodeAuthFailed, "authentication failed: the Basic credentials are not base64")
	}
	key, secret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return store.App{}, fail(CodeAuthFailed, "authentication failed: the Basic credentials must be AppKey:MasterSecret")
	}
	if key == "" || secret == "" {
		return store.App{}, fail(CodeAuthEmpty, "authentication info is empty: AppKey and MasterSecret are both required")
	}
	if !appKeyRE.MatchString(key) {
		return store.App{}, fail(CodeBadAppKey, "app_key: is not an AppKey (24 hex digits); check it against the app's credentials and for stray spaces")
	}
	app, err := h.d.Apps.ByEngageLab(r.Context(), key, secret)
	if errors.Is(err, apps.ErrUnauthorized) {
		return store.App{}, fail(CodeAuthFailed, "authentication failed: AppKey and MasterSecret match no app")
	}
	return app, err
}

// writeError renders err as {"code","message"}. Anything that is not an
// *Error is a server fault: logged with its cause, answered 21030 on a
// timeout and 27000 otherwise, without the cause.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, context.DeadlineExceeded):
		h.d.Log.WarnContext(r.Context(), "engagelab: timed out", "method", r.Method, "path", r.URL.Path, "err", err)
		e = fail(CodeTimeout, "internal timeout; retry later")
	default:
		h.d.Log.ErrorContext(r.Context(), "engagelab: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = fail(CodeServerFault, "internal error; retry later (the server log has the cause)")
	}
	if e.Code == CodeRateLimited {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, e)
}
