package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

// AudienceCounter is what POST /v1/messages/preview-audience needs beyond
// Messages. The store given as Deps.Messages provides it.
type AudienceCounter interface {
	CountAudience(ctx context.Context, appID string, a store.Audience) (int64, error)
}

var _ AudienceCounter = store.Store(nil)

// previewTitle stands in for the content of a preview, which is only
// about the target: send's validation wants a title or a body.
const previewTitle = "preview"

// previewAudience counts the subscribers a send with this body's "to"
// (and include_inactive) would target, now. It takes the body of POST
// /v1/messages, so a client can ask with the request it is about to send;
// only the target is validated, by send's own rules, so the count is
// the one a send would start with.
func (a *API) previewAudience(w http.ResponseWriter, r *http.Request, app store.App) error {
	var req send.Request
	if err := jsonreq.Decode(w, r, &req, jsonreq.Options{}); err != nil {
		return err
	}
	counter, ok := a.messages.(AudienceCounter)
	if !ok {
		return errors.New("api: the message store cannot count audiences")
	}
	m, err := a.send.Prepare(r.Context(), app.ID, send.Request{To: req.To, IncludeInactive: req.IncludeInactive,
		Content: send.Content{Title: previewTitle}})
	if err != nil {
		return err
	}
	n, err := counter.CountAudience(r.Context(), app.ID, m.Audience)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int64{"count": n})
	return nil
}
