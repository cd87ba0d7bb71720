package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/heraldpush/herald/internal/callback"
	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
)

type callbackRequest struct {
	URL          string `json:"url"`
	RotateSecret bool   `json:"rotate_secret"`
}

type callbackResponse struct {
	callback.Setting
	// Secret is shown only when it was just made: on the first PUT and
	// when rotate_secret is true.
	Secret string `json:"secret,omitempty"`
}

// putCallback sets the app's callback URL, making a signing secret when
// the app has none (or rotate_secret is true) and showing it once.
func (a *API) putCallback(w http.ResponseWriter, r *http.Request, app store.App) error {
	var req callbackRequest
	if err := jsonreq.Decode(w, r, &req, jsonreq.Options{MaxBytes: 8 << 10}); err != nil {
		return err
	}
	if req.URL == "" {
		return jsonreq.Fieldf("url", "is required")
	}
	set, secret, err := a.callbacks.Set(r.Context(), app.ID, req.URL, req.RotateSecret)
	if errors.Is(err, callback.ErrBadURL) {
		return jsonreq.Fieldf("url", "%s", strings.TrimPrefix(err.Error(), "callback: "))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, callbackResponse{Setting: set, Secret: secret})
	return nil
}

func (a *API) getCallback(w http.ResponseWriter, r *http.Request, app store.App) error {
	set, err := a.callbacks.Get(r.Context(), app.ID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("callback")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, callbackResponse{Setting: set})
	return nil
}

// deleteCallback clears the callback; events not yet posted are dropped.
func (a *API) deleteCallback(w http.ResponseWriter, r *http.Request, app store.App) error {
	err := a.callbacks.Clear(r.Context(), app.ID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("callback")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
