package najva

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

// created is the token send's 201 answer.
type created struct {
	Result  string         `json:"result"`
	Count   int            `json:"count"`
	Details createdDetails `json:"details"`
}

// createdDetails echo the notification. Najva answers with the paths it
// re-hosted the images at; Herald does not re-host, so icon and image are
// the URLs sent, or null when none was.
type createdDetails struct {
	Title    string  `json:"title"`
	Body     string  `json:"body"`
	URL      string  `json:"url"`
	Icon     *string `json:"icon"`
	Image    *string `json:"image"`
	SentTime string  `json:"sent_time"`
}

// notifyAll serves POST /api/v1/notifications/: the app's subscribers,
// narrowed by segments_include and segments_exclude.
func (h *Handler) notifyAll(w http.ResponseWriter, r *http.Request, app store.App) error {
	n, err := h.read(w, r, toAll, app)
	if err != nil {
		return err
	}
	to := &send.Target{All: len(n.SegmentsInclude) == 0, Segments: refs(n.SegmentsInclude), SegmentsExclude: refs(n.SegmentsExclude)}
	m, _, err := h.d.Send.Send(r.Context(), app.ID, n.request(to, h.now()))
	if err != nil {
		return fromSend(err)
	}
	h.d.Log.DebugContext(r.Context(), "najva: notification", "app_id", app.ID, "msg_id", m.ID)
	w.Header().Set("X-Herald-Message-Id", strconv.FormatInt(m.ID, 10))
	writeJSON(w, http.StatusOK, detail{detailCreated})
	return nil
}

// notifyTokens serves POST /notification/api/v1/notifications/: the
// devices whose registration ids are in subscriber_tokens. Tokens that
// are no device of the app are left out of count; when none is left,
// nothing is sent and count is 0 (the seed: an empty list sends to
// nobody).
func (h *Handler) notifyTokens(w http.ResponseWriter, r *http.Request, app store.App) error {
	n, err := h.read(w, r, toTokens, app)
	if err != nil {
		return err
	}
	// Check the content before resolving tokens, so a bad notification is
	// refused whether or not its tokens match anyone.
	probe := n.request(&send.Target{RegistrationIDs: []string{"r_probe"}}, h.now())
	if _, err := h.d.Send.Message(app.ID, probe); err != nil {
		return fromSend(err)
	}
	ids, err := h.resolve(r.Context(), app.ID, n.SubscriberTokens)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		m, _, err := h.d.Send.Send(r.Context(), app.ID, n.request(&send.Target{RegistrationIDs: ids}, h.now()))
		if err != nil {
			return fromSend(err)
		}
		h.d.Log.DebugContext(r.Context(), "najva: notification to tokens", "app_id", app.ID, "msg_id", m.ID, "count", len(ids))
		w.Header().Set("X-Herald-Message-Id", strconv.FormatInt(m.ID, 10))
	}
	d := createdDetails{Title: n.Title, Body: n.Body, URL: n.URL, SentTime: n.SentTime.Raw}
	if n.Icon != "" {
		d.Icon = &n.Icon
	}
	if n.Image != "" {
		d.Image = &n.Image
	}
	writeJSON(w, http.StatusCreated, created{Result: resultCreated, Count: len(ids), Details: d})
	return nil
}

// read reads and checks a send body and that its api_key is the app's.
func (h *Handler) read(w http.ResponseWriter, r *http.Request, e endpoint, app store.App) (*notification, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, jsonreq.DefaultMaxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, detailAnswer(http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body is larger than %d bytes.", jsonreq.DefaultMaxBytes))
		}
		return nil, detailAnswer(http.StatusBadRequest, "Request body could not be read.")
	}
	n, err := decode(body, e)
	if err != nil {
		return nil, err
	}
	if err := owns(app, n.APIKey); err != nil {
		return nil, err
	}
	return n, nil
}

// resolve returns the registration ids among tokens that are devices of
// the app, each once, in request order.
func (h *Handler) resolve(ctx context.Context, appID string, tokens []string) ([]string, error) {
	seen := make(map[string]bool, len(tokens))
	var ids []string
	for _, t := range tokens {
		if seen[t] {
			continue
		}
		seen[t] = true
		s, err := h.d.Devices.Get(ctx, appID, t)
		switch {
		case errors.Is(err, registry.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			ids = append(ids, s.RegistrationID)
		}
	}
	return ids, nil
}

// request translates a checked notification into Herald's send request.
// A sent_time in the past or now sends at once; a later one schedules.
// "All" is every subscriber of the app, active or not: Najva's meaning.
func (n *notification) request(to *send.Target, now time.Time) send.Request {
	r := send.Request{
		To: to,
		Content: send.Content{Title: n.Title, Body: n.Body, URL: clickURL(n.Action, n.URL, n.Content),
			Icon: n.Icon, Image: n.Image, Extras: extras(n.Action, n.URL, n.Content)},
		IncludeInactive: to.All,
	}
	if at := n.SentTime.At; at.After(now) {
		r.SendAt = &at
	}
	return r
}

// refs names segments by id, as Najva's lists do.
func refs(ids []int64) []send.SegmentRef {
	var out []send.SegmentRef
	for _, id := range ids {
		out = append(out, send.SegmentRef{ID: id})
	}
	return out
}

// sendFields maps the fields send names in its errors to this API's.
var sendFields = map[string]string{
	"content.title":       "title",
	"content.body":        "body",
	"content.url":         "url",
	"content.icon":        "icon",
	"content.image":       "image",
	"send_at":             "sent_time",
	"to.segments":         "segments_include",
	"to.segments_exclude": "segments_exclude",
}

// segmentFields maps send's indexed segment fields to this API's lists.
var segmentFields = map[string]string{"to.segments[": "segments_include", "to.segments_exclude[": "segments_exclude"}

// fromSend turns a send validation error into the 400 answer; other
// errors (the store's) pass through as server faults.
func fromSend(err error) error {
	var fe *jsonreq.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	field, ok := sendFields[fe.Field]
	msg := sentence(fe.Message)
	for prefix, f := range segmentFields {
		if rest, found := strings.CutPrefix(fe.Field, prefix); found && !ok {
			// "to.segments[1]" → segments_include, "Item 1: No segment with id 22."
			field, ok = f, true
			msg = "Item " + strings.Trim(rest, "[]") + ": " + msg
		}
	}
	if !ok {
		field, msg = "non_field_errors", sentence(fe.Error())
	}
	v := &invalid{}
	v.add(field, "%s", msg)
	return v.answer()
}

// sentence capitalises msg and ends it with a full stop, as Django REST
// framework's messages are.
func sentence(msg string) string {
	r, size := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[size:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
