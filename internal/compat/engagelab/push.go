package engagelab

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldpush/herald/internal/delivery"
	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
)

// pushResponse is /v4/push's success answer. request_id is there only
// when the request had one.
type pushResponse struct {
	RequestID *string `json:"request_id,omitempty"`
	MsgID     string  `json:"msg_id"`
}

// push serves POST /v4/push: limit, decode, translate, check the target
// matches someone, send. A repeated cid answers the first message's
// msg_id and sends nothing.
func (h *Handler) push(w http.ResponseWriter, r *http.Request, app store.App) error {
	if ok, _ := h.limit.allow(app.ID); !ok {
		return fail(CodeRateLimited, "rate limit reached: at most %g requests a second per AppKey", h.limit.rate)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, jsonreq.DefaultMaxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(CodeWrongType, "request body: is larger than %d bytes", jsonreq.DefaultMaxBytes)
		}
		return fail(CodeInvalid, "request body: could not be read")
	}
	p, perr := decodePush(body)
	if perr != nil {
		return perr
	}
	replace, err := h.replaceTag(r, app.ID, p.OverrideMsgID)
	if err != nil {
		return err
	}
	req, err := p.toSend(replace)
	if err != nil {
		return err
	}
	m, err := h.d.Send.Message(app.ID, req)
	if err != nil {
		return fromSend(err)
	}
	if !p.All {
		some, err := h.d.Store.AudiencePage(r.Context(), app.ID, m.Audience, 0, 1)
		if err != nil {
			return err
		}
		if len(some) == 0 {
			return fail(CodeNoTarget, "to: no device of this app matches the target")
		}
	}
	m, created, err := h.d.Send.Send(r.Context(), app.ID, req)
	if err != nil {
		return fromSend(err)
	}
	h.d.Log.DebugContext(r.Context(), "engagelab: push", "app_id", app.ID, "msg_id", m.ID, "duplicate", !created)
	writeJSON(w, http.StatusOK, pushResponse{RequestID: p.RequestID, MsgID: strconv.FormatInt(m.ID, 10)})
	return nil
}

// replaceTag is the tag a message replacing msg id must take: the tag
// that message was shown with. An id Herald does not know (say, one
// EngageLab itself returned before the switch) gets the tag it would have
// had; nothing shown carries it, so nothing is replaced.
func (h *Handler) replaceTag(r *http.Request, appID string, id int64) (string, error) {
	if id == 0 {
		return "", nil
	}
	own := TagPrefix + strconv.FormatInt(id, 10)
	m, err := h.d.Store.Message(r.Context(), appID, id)
	if errors.Is(err, store.ErrNotFound) {
		return own, nil
	}
	if err != nil {
		return "", err
	}
	var c delivery.Content
	if err := json.Unmarshal(m.Content, &c); err != nil {
		return "", err
	}
	switch {
	case c.Tag != "":
		return c.Tag, nil
	case c.TagPrefix != "":
		return c.TagPrefix + strconv.FormatInt(id, 10), nil
	}
	return own, nil
}

// sendFields maps the fields send names in its errors to the request's
// own, with the code each fault takes. The adapter checks most of these
// itself first; this is what is left (URLs, the payload size).
var sendFields = map[string]struct {
	code int
	path string
}{
	"content":           {CodeTooLarge, "body"},
	"content.url":       {CodeInvalid, "body.notification.web.url"},
	"content.icon":      {CodeInvalid, "body.notification.web.icon"},
	"content.image":     {CodeInvalid, "body.notification.web.image"},
	"content.title":     {CodeInvalid, "body.notification.web.title"},
	"content.body":      {CodeInvalid, "body.notification.web.alert"},
	"data":              {CodeInvalid, "body.message"},
	"ttl":               {CodeInvalid, "body.options.time_to_live"},
	"spread_minutes":    {CodeSpreadTooLong, "body.options.big_push_duration"},
	"dedup_id":          {CodeInvalid, "body.options.cid"},
	"replace":           {CodeInvalid, "body.options.override_msg_id"},
	"request_id":        {CodeWrongType, "request_id"},
	"custom_args":       {CodeWrongType, "custom_args"},
	"to":                {CodeMissing, "to"},
	"to.tags_not":       {CodeInvalid, "to.tag_not"},
	"content.languages": {CodeInvalid, "body.options.multi_language"},
}

// toFields renames send's target lists to EngageLab's.
var toFields = strings.NewReplacer("to.registration_ids", "to.registration_id", "to.tags_and", "to.tag_and",
	"to.tags_not", "to.tag_not", "to.tags", "to.tag", "to.aliases", "to.alias")

// fromSend turns a send validation error into EngageLab's shape; other
// errors (the store's) pass through as server faults.
func fromSend(err error) error {
	var fe *jsonreq.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	if f, ok := sendFields[fe.Field]; ok {
		return fail(f.code, "%s: %s", f.path, fe.Message)
	}
	if strings.HasPrefix(fe.Field, "to.") {
		return invalid(toFields.Replace(fe.Field), "%s", fe.Message)
	}
	if strings.HasPrefix(fe.Field, "content.languages") {
		return invalid("body.options.multi_language", "%s", fe.Message)
	}
	return fail(CodeInvalid, "%s", fe.Error())
}
