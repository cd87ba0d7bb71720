package tracking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldpush/herald/internal/api"
	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
)

// CodeForbidden is the error code of a report whose signature, or a call
// whose device key, does not match what it names.
const CodeForbidden = "forbidden"

// maxEventBody bounds a report; real ones are about 150 bytes.
const maxEventBody = 4 << 10

// Recorder stores a report once (store.Engagements).
type Recorder interface {
	RecordEngagement(ctx context.Context, appID string, id int64, registrationID string, kind store.EngagementKind, at time.Time) (bool, error)
}

// Handler serves POST /sdk/v1/events.
type Handler struct {
	rec        Recorder
	keys       *Keys
	defaultApp string
	now        func() time.Time
	log        *slog.Logger
}

// New returns the events handler. defaultApp (herald serve --default-app)
// is the app of a report that names none; it may be empty. now may be nil.
func New(rec Recorder, keys *Keys, defaultApp string, now func() time.Time, log *slog.Logger) *Handler {
	if now == nil {
		now = time.Now
	}
	return &Handler{rec: rec, keys: keys, defaultApp: defaultApp, now: now, log: log}
}

// Register mounts the events endpoint and its CORS preflight on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /sdk/v1/events", CORS(http.HandlerFunc(h.events)))
	mux.HandleFunc("OPTIONS /sdk/v1/events", Preflight)
}

// Event is one report, as the service worker posts it. The body may be
// sent as text/plain (a CORS "simple" request, with no preflight).
type Event struct {
	Type      string    `json:"type"`       // received | clicked
	MessageID MessageID `json:"message_id"` // the payload's "id"
	RID       string    `json:"rid"`        // the payload's "rid"
	Sig       string    `json:"sig"`        // the payload's "sig"
	App       string    `json:"app"`        // optional; else ?app=, X-Herald-App or the default app
	Action    string    `json:"action,omitempty"`
}

// MessageID is a message id given as a JSON string ("123", as payloads
// carry it) or number.
type MessageID int64

// UnmarshalJSON accepts "123" and 123.
func (m *MessageID) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n <= 0 {
		return jsonreq.Fieldf("message_id", "must be a message id such as \"123\"")
	}
	*m = MessageID(n)
	return nil
}

func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	if err := h.event(w, r); err != nil {
		api.WriteError(w, r, h.log, err)
	}
}

func (h *Handler) event(w http.ResponseWriter, r *http.Request) error {
	var e Event
	if err := jsonreq.Decode(w, r, &e, jsonreq.Options{MaxBytes: maxEventBody, AllowUnknown: true}); err != nil {
		return err
	}
	kind := store.EngagementKind(e.Type)
	switch {
	case kind != store.EngagementReceived && kind != store.EngagementClicked:
		return jsonreq.Fieldf("type", "must be received or clicked")
	case e.MessageID <= 0:
		return jsonreq.Fieldf("message_id", "is required")
	case e.RID == "":
		return jsonreq.Fieldf("rid", "is required: send the payload's rid back")
	case e.Sig == "":
		return jsonreq.Fieldf("sig", "is required: send the payload's sig back")
	}
	appID := e.App
	if appID == "" {
		appID = RequestApp(r, h.defaultApp)
	}
	if appID == "" {
		return jsonreq.Fieldf("app", "is required: pass ?app=<app id>")
	}
	// The signature is checked before anything is looked up, so that a
	// wrong one says nothing about which messages exist.
	if !h.keys.CheckSig(appID, int64(e.MessageID), e.RID, e.Sig) {
		return &api.Error{Status: http.StatusForbidden, Code: CodeForbidden,
			Message: "sig does not sign this app, message_id and rid; send back the payload's own fields"}
	}
	counted, err := h.rec.RecordEngagement(r.Context(), appID, int64(e.MessageID), e.RID, kind, h.now().UTC().Truncate(time.Millisecond))
	if errors.Is(err, store.ErrNotFound) {
		return &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: "message " + strconv.FormatInt(int64(e.MessageID), 10) + " not found"}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]bool{"counted": counted})
	return nil
}
