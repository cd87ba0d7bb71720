package sdk

import (
	"errors"
	"net/http"
	"strings"

	"github.com/heraldpush/herald/internal/api"
	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

// maxBody bounds a registration; real ones are under 1 KB.
const maxBody = 16 << 10

// deviceKeyHeader carries the device key of PATCH and DELETE.
const deviceKeyHeader = "X-Herald-Device-Key"

// registerRequest is POST /sdk/v1/subscribers: the body of POST
// /v1/subscribers, with type optional for a subscription, plus replaces.
type registerRequest struct {
	Type         string                `json:"type"`
	Subscription *api.PushSubscription `json:"subscription"`
	Token        string                `json:"token"`
	Tags         []string              `json:"tags"`
	Alias        string                `json:"alias"`
	Language     string                `json:"language"`
	Timezone     string                `json:"timezone"`
	// Replaces names the registration this one succeeds (the browser's
	// subscription or the app's token changed): its tags, alias, language
	// and time zone carry over unless given, and it is deleted.
	Replaces *deviceRef `json:"replaces"`
}

type deviceRef struct {
	RegistrationID string `json:"registration_id"`
	DeviceKey      string `json:"device_key"`
}

// registerResponse answers a registration.
type registerResponse struct {
	RegistrationID string `json:"registration_id"`
	DeviceKey      string `json:"device_key"`
	Created        bool   `json:"created"`
	Replaced       string `json:"replaced,omitempty"` // the registration id deleted
}

func (h *Handler) register(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := jsonreq.Decode(w, r, &req, jsonreq.Options{MaxBytes: maxBody}); err != nil {
		return err
	}
	a, err := h.app(r)
	if err != nil {
		return err
	}
	reg, err := req.registration()
	if err != nil {
		return err
	}
	on, err := h.enabled(r.Context(), a.ID, reg.Channel)
	if err != nil {
		return err
	}
	if !on {
		return &api.Error{Status: http.StatusForbidden, Code: CodePushNotEnabled, Field: "type",
			Message: "push is not enabled for this app: it has no " + string(reg.Channel) + " credentials"}
	}
	var old store.Subscriber
	if req.Replaces != nil {
		if old, err = h.replaced(r, a.ID, req.Replaces); err != nil {
			return err
		}
		if old.RegistrationID != "" {
			if reg.Tags == nil {
				reg.Tags = old.Tags
				if reg.Tags == nil {
					reg.Tags = []string{}
				}
			}
			reg.Alias = cmp(reg.Alias, old.Alias)
			reg.Language = cmp(reg.Language, old.Language)
			reg.Timezone = cmp(reg.Timezone, old.Timezone)
		}
	}
	res, err := h.d.Registry.Register(r.Context(), a.ID, reg)
	if err != nil {
		return err
	}
	rid := res.Subscriber.RegistrationID
	out := registerResponse{RegistrationID: rid, DeviceKey: h.d.Keys.DeviceKey(a.ID, rid), Created: res.Created}
	if old.RegistrationID != "" && old.RegistrationID != rid {
		if err := h.d.Registry.Delete(r.Context(), a.ID, old.RegistrationID); err != nil && !errors.Is(err, registry.ErrNotFound) {
			return err
		}
		out.Replaced = old.RegistrationID
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, out)
	return nil
}

// cmp is a if set, else b.
func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// registration turns the request into a registry.Registration, checking
// that the type and its fields agree.
func (req registerRequest) registration() (registry.Registration, error) {
	typ := req.Type
	if typ == "" && req.Subscription != nil {
		typ = string(store.ChannelWebPush)
	}
	reg := registry.Registration{Channel: store.Channel(typ), Token: req.Token,
		Tags: req.Tags, Alias: req.Alias, Language: req.Language, Timezone: req.Timezone}
	switch {
	case typ == string(store.ChannelWebPush) && req.Subscription == nil:
		return reg, jsonreq.Fieldf("subscription", "is required for type webpush: send PushSubscription.toJSON()")
	case typ == string(store.ChannelWebPush) && req.Token != "":
		return reg, jsonreq.Fieldf("token", "is for fcm and apns; a webpush registration carries subscription")
	case typ == string(store.ChannelWebPush):
		reg.Endpoint = req.Subscription.Endpoint
		reg.P256DH, reg.Auth = req.Subscription.Keys.P256DH, req.Subscription.Keys.Auth
	case req.Subscription != nil:
		return reg, jsonreq.Fieldf("subscription", "is for type webpush; fcm and apns carry token")
	case typ == "":
		return reg, jsonreq.Fieldf("type", "is required: webpush (with subscription), fcm or apns (with token)")
	case typ != string(store.ChannelFCM) && typ != string(store.ChannelAPNs):
		return reg, jsonreq.Fieldf("type", "must be webpush, fcm or apns, got %q", typ)
	}
	return reg, nil
}

// replaced checks the device key of the registration a new one replaces
// and returns it; zero if it is gone already.
func (h *Handler) replaced(r *http.Request, appID string, ref *deviceRef) (store.Subscriber, error) {
	if ref.RegistrationID == "" {
		return store.Subscriber{}, jsonreq.Fieldf("replaces.registration_id", "is required")
	}
	if !h.d.Keys.CheckDeviceKey(appID, ref.RegistrationID, ref.DeviceKey) {
		return store.Subscriber{}, forbidden("replaces.device_key")
	}
	old, err := h.d.Registry.Get(r.Context(), appID, ref.RegistrationID)
	if errors.Is(err, registry.ErrNotFound) {
		return store.Subscriber{}, nil
	}
	return old, err
}

func forbidden(field string) *api.Error {
	return &api.Error{Status: http.StatusForbidden, Code: CodeForbidden, Field: field,
		Message: "the device key does not belong to this registration; use the device_key its registration answered"}
}

// device authenticates a call about one registration by its device key.
func (h *Handler) device(r *http.Request) (appID, rid string, err error) {
	a, err := h.app(r)
	if err != nil {
		return "", "", err
	}
	rid = r.PathValue("id")
	key := strings.TrimSpace(r.Header.Get(deviceKeyHeader))
	if key == "" {
		return "", "", &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized,
			Message: deviceKeyHeader + " header is missing; send the device_key the registration answered"}
	}
	if !h.d.Keys.CheckDeviceKey(a.ID, rid, key) {
		return "", "", forbidden("")
	}
	return a.ID, rid, nil
}

// updateRequest is PATCH /sdk/v1/subscribers/{id}.
type updateRequest struct {
	Tags       []string `json:"tags"`
	TagsAdd    []string `json:"tags_add"`
	TagsRemove []string `json:"tags_remove"`
	Alias      *string  `json:"alias"`
	Language   *string  `json:"language"`
	Timezone   *string  `json:"timezone"`
}

// deviceJSON is what a device may see of its own registration.
type deviceJSON struct {
	RegistrationID string   `json:"registration_id"`
	Type           string   `json:"type"`
	Tags           []string `json:"tags"`
	Alias          string   `json:"alias"`
	Language       string   `json:"language"`
	Timezone       string   `json:"timezone"`
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) error {
	appID, rid, err := h.device(r)
	if err != nil {
		return err
	}
	var req updateRequest
	if err := jsonreq.Decode(w, r, &req, jsonreq.Options{MaxBytes: maxBody}); err != nil {
		return err
	}
	s, err := h.d.Registry.Update(r.Context(), appID, rid, registry.Update{
		Tags: req.Tags, AddTags: req.TagsAdd, RemoveTags: req.TagsRemove,
		Alias: req.Alias, Language: req.Language, Timezone: req.Timezone,
		Touch: true, // the device itself called: it is active
	})
	if err != nil {
		return err
	}
	tags := s.Tags
	if tags == nil {
		tags = []string{}
	}
	writeJSON(w, http.StatusOK, deviceJSON{RegistrationID: s.RegistrationID, Type: string(s.Channel), Tags: tags,
		Alias: s.Alias, Language: s.Language, Timezone: s.Timezone})
	return nil
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) error {
	appID, rid, err := h.device(r)
	if err != nil {
		return err
	}
	if err := h.d.Registry.Delete(r.Context(), appID, rid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
