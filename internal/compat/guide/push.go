package guide

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/delivery"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// defaultPayload is pushed when /api/push has no body: the guide leaves
// the payload undefined, and a service worker that calls event.data.json()
// needs JSON.
const defaultPayload = `{"title":"New notification"}`

// push sends to every subscription of the app whose API key the request
// carries. Unlike the guide's server, which trusts anyone who can reach
// it, Herald needs the key (Authorization: Bearer <api_key>): the endpoint
// reaches every subscriber. The body, if any, is the payload, sent as is.
// The answer comes once the message is durable; delivery goes on after
// it, and the message id is in the X-Herald-Message-Id header.
func (h *Handler) push(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Send the app's API key as Authorization: Bearer <api_key>")
		return
	}
	app, err := h.apps.ByAPIKey(r.Context(), strings.TrimSpace(key))
	if errors.Is(err, apps.ErrUnauthorized) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "API key matches no app")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webpush.MaxPlaintext+1))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "payload-too-large", "The payload is larger than "+strconv.Itoa(webpush.MaxPlaintext)+" bytes, the most one push carries")
		return
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte(defaultPayload)
	}
	if !json.Valid(body) {
		// Plain text is fine for a service worker that calls
		// event.data.text(); it travels as a JSON string.
		if body, _ = json.Marshal(string(body)); len(body) > webpush.MaxPlaintext {
			writeError(w, http.StatusRequestEntityTooLarge, "payload-too-large", "The payload is larger than "+strconv.Itoa(webpush.MaxPlaintext)+" bytes, the most one push carries")
			return
		}
	}
	content, err := json.Marshal(delivery.Content{Raw: body})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m, _, err := h.submit.Submit(r.Context(), store.Message{AppID: app.ID, Content: content, TTL: send.DefaultTTL})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("X-Herald-Message-Id", strconv.FormatInt(m.ID, 10))
	writeSuccess(w)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "guide: push", "err", err)
	// The guide appends err.message; Herald's causes stay in its log.
	writeError(w, http.StatusInternalServerError, "unable-to-send-messages", "Failed to send the push (the message could not be stored)")
}
