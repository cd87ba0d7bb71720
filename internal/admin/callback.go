package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/heraldpush/herald/internal/callback"
	"github.com/heraldpush/herald/internal/store"
)

// setCallback sets the app's callback URL. A secret made now (the first
// time, or on rotation) is rendered in this answer only, never stored in
// clear or put in a redirect.
func (u *UI) setCallback(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if u.d.Callbacks == nil {
		return &httpError{status: http.StatusNotFound, msg: "Callbacks are not enabled on this server."}
	}
	raw := strings.TrimSpace(r.PostFormValue("callback_url"))
	set, secret, err := u.d.Callbacks.Set(r.Context(), c.app.ID, raw, r.PostFormValue("rotate") == "yes")
	if errors.Is(err, callback.ErrBadURL) {
		return u.showApp(w, r, c, http.StatusBadRequest, appData{Problem: "The callback URL was refused: " + strings.TrimPrefix(err.Error(), "callback: "), CallbackInput: raw})
	}
	if err != nil {
		return err
	}
	u.d.Log.InfoContext(r.Context(), "admin set the callback URL", "app_id", c.app.ID, "new_secret", secret != "")
	if secret == "" {
		return u.redirect(w, r, c, appURL(c.app.ID)+"#callbacks", "Callback URL saved; the signing secret is unchanged.")
	}
	return u.showApp(w, r, c, http.StatusOK, appData{CallbackSecret: secret, Notice: "Callback URL saved: " + set.URL})
}

func (u *UI) deleteCallback(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if u.d.Callbacks == nil {
		return &httpError{status: http.StatusNotFound, msg: "Callbacks are not enabled on this server."}
	}
	err := u.d.Callbacks.Clear(r.Context(), c.app.ID)
	if errors.Is(err, store.ErrNotFound) {
		return u.redirect(w, r, c, appURL(c.app.ID)+"#callbacks", "There was no callback to remove.")
	}
	if err != nil {
		return err
	}
	u.d.Log.InfoContext(r.Context(), "admin removed the callback", "app_id", c.app.ID)
	return u.redirect(w, r, c, appURL(c.app.ID)+"#callbacks", "Callback removed; events not yet posted were dropped.")
}
