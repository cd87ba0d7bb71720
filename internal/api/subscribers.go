package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

// PushSubscription is the browser's PushSubscription.toJSON().
type PushSubscription struct {
	Endpoint       string   `json:"endpoint"`
	ExpirationTime *float64 `json:"expirationTime,omitempty"`
	Keys           struct {
		P256DH string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

type registerRequest struct {
	Type         string            `json:"type"`
	Subscription *PushSubscription `json:"subscription"`
	Token        string            `json:"token"`
	Tags         []string          `json:"tags"`
	Alias        string            `json:"alias"`
	Language     string            `json:"language"`
	Timezone     string            `json:"timezone"`
}

type registerResponse struct {
	RegistrationID string `json:"registration_id"`
	Created        bool   `json:"created"`
}

func (a *API) register(w http.ResponseWriter, r *http.Request, app store.App) error {
	var req registerRequest
	if err := jsonreq.Decode(w, r, &req, jsonreq.Options{}); err != nil {
		return err
	}
	reg := registry.Registration{
		Channel: store.Channel(req.Type), Token: req.Token,
		Tags: req.Tags, Alias: req.Alias, Language: req.Language, Timezone: req.Timezone,
	}
	switch {
	case req.Type == string(store.ChannelWebPush) && req.Subscription == nil:
		return &registry.FieldError{Field: "subscription", Message: "is required for type webpush"}
	case req.Type == string(store.ChannelWebPush):
		if req.Token != "" {
			return &registry.FieldError{Field: "token", Message: "is for fcm and apns; a webpush registration carries subscription"}
		}
		reg.Endpoint = req.Subscription.Endpoint
		reg.P256DH, reg.Auth = req.Subscription.Keys.P256DH, req.Subscription.Keys.Auth
	case req.Subscription != nil:
		return &registry.FieldError{Field: "subscription", Message: "is for type webpush; fcm and apns carry token"}
	}
	res, err := a.registry.Register(r.Context(), app.ID, reg)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, registerResponse{RegistrationID: res.Subscriber.RegistrationID, Created: res.Created})
	return nil
}

// subscriberJSON is a device as the API shows it.
type subscriberJSON struct {
	RegistrationID string     `json:"registration_id"`
	Type           string     `json:"type"`
	Endpoint       string     `json:"endpoint,omitempty"`
	Token          string     `json:"token,omitempty"`
	Tags           []string   `json:"tags"`
	Alias          string     `json:"alias"`
	Language       string     `json:"language"`
	Timezone       string     `json:"timezone"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	LastActiveAt   time.Time  `json:"last_active_at"`
	LastClickedAt  *time.Time `json:"last_clicked_at"`
}

func toJSON(s store.Subscriber) subscriberJSON {
	j := subscriberJSON{
		RegistrationID: s.RegistrationID, Type: string(s.Channel), Tags: s.Tags,
		Alias: s.Alias, Language: s.Language, Timezone: s.Timezone,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, LastActiveAt: s.LastActiveAt,
	}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	if s.Channel == store.ChannelWebPush {
		j.Endpoint = s.Token
	} else {
		j.Token = s.Token
	}
	if !s.LastClickedAt.IsZero() {
		t := s.LastClickedAt
		j.LastClickedAt = &t
	}
	return j
}

type listResponse struct {
	Subscribers []subscriberJSON `json:"subscribers"`
	NextCursor  string           `json:"next_cursor"`
}

func (a *API) listSubscribers(w http.ResponseWriter, r *http.Request, app store.App) error {
	f, err := parseFilter(r)
	if err != nil {
		return err
	}
	subs, next, err := a.registry.List(r.Context(), app.ID, f)
	if err != nil {
		return err
	}
	writeList(w, subs, next)
	return nil
}

func writeList(w http.ResponseWriter, subs []store.Subscriber, next int64) {
	resp := listResponse{Subscribers: make([]subscriberJSON, len(subs))}
	for i, s := range subs {
		resp.Subscribers[i] = toJSON(s)
	}
	if next > 0 {
		resp.NextCursor = strconv.FormatInt(next, 10)
	}
	writeJSON(w, http.StatusOK, resp)
}

func parseFilter(r *http.Request) (registry.Filter, error) {
	q := r.URL.Query()
	f := registry.Filter{Tag: q.Get("tag"), Alias: q.Get("alias"), Language: q.Get("language")}
	if t := q.Get("type"); t != "" {
		switch store.Channel(t) {
		case store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs:
			f.Channel = store.Channel(t)
		default:
			return f, &registry.FieldError{Field: "type", Message: "must be webpush, fcm or apns"}
		}
	}
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 0 {
			return f, &registry.FieldError{Field: "cursor", Message: "is not a cursor this API returned"}
		}
		f.AfterID = n
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return f, &registry.FieldError{Field: "limit", Message: "must be a positive integer"}
		}
		f.Limit = n
	}
	if d := q.Get("active_within"); d != "" {
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 {
			return f, &registry.FieldError{Field: "active_within", Message: "must be a duration such as 720h"}
		}
		f.ActiveSince = time.Now().Add(-dur)
	}
	return f, nil
}

func (a *API) getSubscriber(w http.ResponseWriter, r *http.Request, app store.App) error {
	s, err := a.registry.Get(r.Context(), app.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toJSON(s))
	return nil
}

type updateRequest struct {
	Tags       []string `json:"tags"`
	TagsAdd    []string `json:"tags_add"`
	TagsRemove []string `json:"tags_remove"`
	Alias      *string  `json:"alias"`
	Language   *string  `json:"language"`
	Timezone   *string  `json:"timezone"`
	Touch      bool     `json:"touch"`
}

func (a *API) updateSubscriber(w http.ResponseWriter, r *http.Request, app store.App) error {
	var req updateRequest
	if err := jsonreq.Decode(w, r, &req, jsonreq.Options{}); err != nil {
		return err
	}
	s, err := a.registry.Update(r.Context(), app.ID, r.PathValue("id"), registry.Update{
		Tags: req.Tags, AddTags: req.TagsAdd, RemoveTags: req.TagsRemove,
		Alias: req.Alias, Language: req.Language, Timezone: req.Timezone, Touch: req.Touch,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toJSON(s))
	return nil
}

func (a *API) deleteSubscriber(w http.ResponseWriter, r *http.Request, app store.App) error {
	if err := a.registry.Delete(r.Context(), app.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type tagJSON struct {
	Tag         string `json:"tag"`
	Subscribers int64  `json:"subscribers"`
}

func (a *API) listTags(w http.ResponseWriter, r *http.Request, app store.App) error {
	tags, err := a.registry.Tags(r.Context(), app.ID)
	if err != nil {
		return err
	}
	out := make([]tagJSON, len(tags))
	for i, t := range tags {
		out[i] = tagJSON{Tag: t.Tag, Subscribers: t.Subscribers}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": out})
	return nil
}

func (a *API) deleteTag(w http.ResponseWriter, r *http.Request, app store.App) error {
	n, err := a.registry.DeleteTag(r.Context(), app.ID, r.PathValue("tag"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int64{"removed": n})
	return nil
}

func (a *API) aliasDevices(w http.ResponseWriter, r *http.Request, app store.App) error {
	subs, next, err := a.registry.List(r.Context(), app.ID, registry.Filter{Alias: r.PathValue("alias"), Limit: 1000})
	if err != nil {
		return err
	}
	writeList(w, subs, next)
	return nil
}

func (a *API) unbindAlias(w http.ResponseWriter, r *http.Request, app store.App) error {
	n, err := a.registry.UnbindAlias(r.Context(), app.ID, r.PathValue("alias"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int64{"unbound": n})
	return nil
}
