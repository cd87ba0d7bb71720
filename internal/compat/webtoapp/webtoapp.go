package webtoapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldpush/herald/internal/api"
	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

// Path is the send endpoint.
const Path = "/api/webtoapp/v1/send"

// MaxTokens bounds one send, as Herald's registration_ids target does.
const MaxTokens = send.MaxRegistrationIDs

// Apps finds the app a webtoapp API key belongs to (apps.Service).
type Apps interface {
	ByWebtoappKey(ctx context.Context, key string) (store.App, error)
}

// Devices finds one of an app's devices by any name it knows itself by:
// registration id, native FCM/APNs token or Web Push endpoint
// (registry.Service).
type Devices interface {
	Find(ctx context.Context, appID, token string) (store.Subscriber, error)
}

// Sender validates and submits a send (send.Service).
type Sender interface {
	Send(ctx context.Context, appID string, r send.Request) (store.Message, bool, error)
}

// Handler serves the webtoapp-style send.
type Handler struct {
	apps    Apps
	devices Devices
	send    Sender
	log     *slog.Logger
}

// New returns the webtoapp adapter.
func New(a Apps, d Devices, s Sender, log *slog.Logger) *Handler {
	return &Handler{apps: a, devices: d, send: s, log: log}
}

// Register mounts the endpoint on mux, for every method, so that a wrong
// one gets a JSON 405.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc(Path, func(w http.ResponseWriter, r *http.Request) {
		if err := h.serve(w, r); err != nil {
			api.WriteError(w, r, h.log, err)
		}
	})
}

// sendRequest is the body of a send.
type sendRequest struct {
	Tokens []string        `json:"tokens"`
	Title  string          `json:"title"`
	Body   string          `json:"body"`
	URL    string          `json:"url"`
	Icon   string          `json:"icon"`
	Image  string          `json:"image"`
	Data   json.RawMessage `json:"data"`
}

// sendResponse is the answer to a send.
type sendResponse struct {
	ID            string   `json:"id"`
	Count         int      `json:"count"`
	UnknownTokens []string `json:"unknown_tokens,omitempty"`
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return &api.Error{Status: http.StatusMethodNotAllowed, Code: api.CodeMethodNotAllowed, Message: "only POST is supported on " + Path + ", got " + r.Method}
	}
	key := r.URL.Query().Get("api_key")
	if key == "" {
		return &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized, Field: "api_key",
			Message: "api_key: is missing; pass the app's webtoapp API key as ?api_key=<key>"}
	}
	app, err := h.apps.ByWebtoappKey(r.Context(), key)
	if errors.Is(err, apps.ErrUnauthorized) {
		return &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized, Field: "api_key", Message: "api_key: matches no app"}
	}
	if err != nil {
		return err
	}
	var req sendRequest
	if err := jsonreq.Decode(w, r, &req, jsonreq.Options{}); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	ids, unknown, err := h.resolve(r.Context(), app.ID, req.Tokens)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Field: "tokens",
			Message: fmt.Sprintf("tokens: none of the %d tokens is a device of this app; tokens go stale when the app is reinstalled or its data cleared", len(unknown))}
	}
	m, _, err := h.send.Send(r.Context(), app.ID, send.Request{
		To:      &send.Target{RegistrationIDs: ids},
		Content: send.Content{Title: req.Title, Body: req.Body, URL: req.URL, Icon: req.Icon, Image: req.Image},
		Data:    req.Data,
	})
	if err != nil {
		return fromSend(err)
	}
	writeJSON(w, sendResponse{ID: strconv.FormatInt(m.ID, 10), Count: len(ids), UnknownTokens: unknown})
	return nil
}

// check validates what send does not: the token list and the data type.
func (req *sendRequest) check() error {
	switch {
	case len(req.Tokens) == 0:
		return jsonreq.Fieldf("tokens", "is required: the tokens getNotificationToken() gave the app instances to notify")
	case len(req.Tokens) > MaxTokens:
		return jsonreq.Fieldf("tokens", "has %d tokens, at most %d are allowed", len(req.Tokens), MaxTokens)
	}
	for i, t := range req.Tokens {
		switch {
		case strings.TrimSpace(t) == "":
			return jsonreq.Fieldf(fmt.Sprintf("tokens[%d]", i), "must not be empty")
		case len(t) > registry.MaxTokenLen:
			return jsonreq.Fieldf(fmt.Sprintf("tokens[%d]", i), "is longer than %d bytes", registry.MaxTokenLen)
		}
	}
	if len(req.Data) > 0 && string(req.Data) != "null" && req.Data[0] != '{' {
		return &jsonreq.Problem{Kind: jsonreq.KindType, Field: "data", Message: "data: must be an object"}
	}
	if string(req.Data) == "null" {
		req.Data = nil
	}
	if req.Title == "" && req.Body == "" && len(req.Data) == 0 {
		return jsonreq.Fieldf("title", "a notification needs a title or a body, or the send needs data")
	}
	return nil
}

// resolve returns the registration ids of the tokens that are devices of
// the app, each device once (a device named by its registration id and by
// its native token counts once), and the tokens that are not, in request
// order.
func (h *Handler) resolve(ctx context.Context, appID string, tokens []string) (ids, unknown []string, err error) {
	seen := make(map[string]bool, len(tokens))
	for _, t := range tokens {
		if seen[t] {
			continue
		}
		seen[t] = true
		s, err := h.devices.Find(ctx, appID, t)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			unknown = append(unknown, t)
		case err != nil:
			return nil, nil, err
		case !seen["\x00"+s.RegistrationID]:
			seen["\x00"+s.RegistrationID] = true
			ids = append(ids, s.RegistrationID)
		}
	}
	return ids, unknown, nil
}

// fromSend names this request's fields in send's validation errors.
func fromSend(err error) error {
	var fe *jsonreq.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	field := strings.TrimPrefix(fe.Field, "content.")
	if fe.Field == "content" {
		field = "body"
	}
	return jsonreq.Fieldf(field, "%s", fe.Message)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}
