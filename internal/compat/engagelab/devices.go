package engagelab

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

// The device API is Herald's reading of EngageLab's tag/alias API
// ("AppPushAPI"), which the contract names but does not describe: the
// shapes of JPush's device API, the v3 ancestor of EngageLab's, under /v4.

// MaxAliasDevices bounds GET /v4/aliases/{alias}: an alias names a user,
// who has a few devices, not thousands.
const MaxAliasDevices = 1000

// deviceJSON is one device's tags and alias.
type deviceJSON struct {
	Tags  []string `json:"tags"`
	Alias string   `json:"alias"`
}

func toDevice(s store.Subscriber) deviceJSON {
	d := deviceJSON{Tags: s.Tags, Alias: s.Alias}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	return d
}

// deviceError maps registry errors: an unknown device is 20101, a bad
// value 21003 naming the request's field.
func deviceError(err error, id string) error {
	var fe *registry.FieldError
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return fail(CodeBadRegistrationID, "registration_id: %q is not a device of this app", id)
	case errors.As(err, &fe):
		field := strings.NewReplacer("tags_add", "tags.add", "tags_remove", "tags.remove").Replace(fe.Field)
		return invalid(field, "%s", fe.Message)
	}
	return err
}

// getDevice serves GET /v4/devices/{registration_id}: {"tags","alias"}.
func (h *Handler) getDevice(w http.ResponseWriter, r *http.Request, app store.App) error {
	id := r.PathValue("registration_id")
	s, err := h.d.Registry.Get(r.Context(), app.ID, id)
	if err != nil {
		return deviceError(err, id)
	}
	writeJSON(w, http.StatusOK, toDevice(s))
	return nil
}

// setDevice serves POST /v4/devices/{registration_id} with
// {"tags":{"add":[…],"remove":[…]} or "" (remove all), "alias":"…" or ""
// (unbind)} and answers the device as it now is.
func (h *Handler) setDevice(w http.ResponseWriter, r *http.Request, app store.App) error {
	id := r.PathValue("registration_id")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, jsonreq.DefaultMaxBytes))
	if err != nil {
		return fail(CodeWrongType, "request body: is larger than %d bytes", jsonreq.DefaultMaxBytes)
	}
	top, perr := parseBody(body)
	if perr != nil {
		return perr
	}
	if err := top.only("tags", "alias"); err != nil {
		return err
	}
	var u registry.Update
	if raw, ok := top.get("tags"); ok {
		if kind(raw) == '"' {
			if s, _ := asString(raw, "tags"); s != "" {
				return invalid("tags", `must be "" (remove every tag) or {"add":[…],"remove":[…]}`)
			}
			u.Tags = []string{}
		} else {
			tags, err := asObject(raw, "tags")
			if err != nil {
				return wrongType("tags", `an object {"add":[…],"remove":[…]} or ""`)
			}
			if err := tags.only("add", "remove"); err != nil {
				return err
			}
			if u.AddTags, perr = tags.strings("add"); perr != nil {
				return perr
			}
			if u.RemoveTags, perr = tags.strings("remove"); perr != nil {
				return perr
			}
		}
	}
	if raw, ok := top.get("alias"); ok {
		alias, err := asString(raw, "alias")
		if err != nil {
			return err
		}
		u.Alias = &alias
	}
	if u.Tags == nil && u.AddTags == nil && u.RemoveTags == nil && u.Alias == nil {
		return fail(CodeMissing, "request body: missing required parameter: give tags or alias")
	}
	s, err := h.d.Registry.Update(r.Context(), app.ID, id, u)
	if err != nil {
		return deviceError(err, id)
	}
	writeJSON(w, http.StatusOK, toDevice(s))
	return nil
}

// listTags serves GET /v4/tags: {"tags":[…]}, the app's tags in order.
func (h *Handler) listTags(w http.ResponseWriter, r *http.Request, app store.App) error {
	tags, err := h.d.Registry.Tags(r.Context(), app.ID)
	if err != nil {
		return err
	}
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.Tag
	}
	writeJSON(w, http.StatusOK, map[string][]string{"tags": out})
	return nil
}

// deleteTag serves DELETE /v4/tags/{tag}: the tag leaves every device.
func (h *Handler) deleteTag(w http.ResponseWriter, r *http.Request, app store.App) error {
	if _, err := h.d.Registry.DeleteTag(r.Context(), app.ID, r.PathValue("tag")); err != nil {
		return deviceError(err, "")
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// aliasDevices serves GET /v4/aliases/{alias}: {"registration_ids":[…]},
// the first MaxAliasDevices devices bound to the alias.
func (h *Handler) aliasDevices(w http.ResponseWriter, r *http.Request, app store.App) error {
	alias := r.PathValue("alias")
	if alias == "" {
		return missing("alias")
	}
	subs, _, err := h.d.Registry.List(r.Context(), app.ID, registry.Filter{Alias: alias, Limit: MaxAliasDevices})
	if err != nil {
		return deviceError(err, "")
	}
	ids := make([]string, len(subs))
	for i, s := range subs {
		ids[i] = s.RegistrationID
	}
	writeJSON(w, http.StatusOK, map[string][]string{"registration_ids": ids})
	return nil
}

// unbindAlias serves DELETE /v4/aliases/{alias}: every device loses it.
func (h *Handler) unbindAlias(w http.ResponseWriter, r *http.Request, app store.App) error {
	if _, err := h.d.Registry.UnbindAlias(r.Context(), app.ID, r.PathValue("alias")); err != nil {
		return deviceError(err, "")
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
