package admin

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/callback"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

type appRow struct {
	App         store.App
	Subscribers int64
}

type appListData struct {
	Apps    []appRow
	Name    string // the create form's value after a refusal
	Problem string
}

func (u *UI) appList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return u.showAppList(w, r, c, http.StatusOK, appListData{})
}

func (u *UI) showAppList(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, d appListData) error {
	list, err := u.d.Apps.List(r.Context())
	if err != nil {
		return err
	}
	for _, a := range list {
		n, err := u.d.Registry.Count(r.Context(), a.ID, registry.Filter{})
		if err != nil {
			return err
		}
		d.Apps = append(d.Apps, appRow{App: a, Subscribers: n})
	}
	u.render(w, r, status, "apps", u.newView(c, "Apps", "apps", d))
	return nil
}

// credentialsData is the page that shows new secrets, once.
type credentialsData struct {
	Creds   apps.Credentials
	Rotated apps.Kind // empty after create
	Created bool
}

func (u *UI) createApp(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	creds, err := u.d.Apps.Create(r.Context(), name)
	if err != nil {
		if name == "" || len(name) > 200 {
			return u.showAppList(w, r, c, http.StatusBadRequest, appListData{Name: name, Problem: fmtErr(err)})
		}
		return err
	}
	u.d.Log.InfoContext(r.Context(), "admin created an app", "app_id", creds.ID)
	c.app, err = u.d.Apps.App(r.Context(), creds.ID)
	if err != nil {
		return err
	}
	// Rendered in the answer to the POST, never stored: the secrets exist
	// in clear only here.
	u.render(w, r, http.StatusCreated, "credentials", u.newView(c, "App created", "app", credentialsData{Creds: creds, Created: true}))
	return nil
}

type appData struct {
	VAPIDPublicKey string
	Total          int64
	ByType         []typeCount
	Tags           []store.TagCount
	MoreTags       int
	FCM            *apps.FCMInfo
	APNs           *apps.APNsInfo
	Kinds          []kindInfo
	Problem        string
	Notice         string
	// Callback is the app's callback URL (nil: none); CallbackSecret a
	// secret just made, shown in this answer only; CallbackInput the
	// form's value after a refusal.
	Callback       *callback.Setting
	CallbackSecret string
	CallbackInput  string
}

type typeCount struct {
	Type  store.Channel
	Count int64
}

type kindInfo struct {
	Kind apps.Kind
	Name string
	Note string
}

// kinds describes each rotatable credential for the rotate forms.
func kinds() []kindInfo {
	return []kindInfo{
		{apps.KindAPIKey, "Herald API key", "Clients using the old key get 401 at once."},
		{apps.KindEngageLab, "EngageLab master secret", "The AppKey stays; the old master secret stops working."},
		{apps.KindNajva, "Najva token", "The api_key stays; the old token stops working."},
		{apps.KindWebtoapp, "webtoapp API key", "Sends with the old key are refused."},
		{apps.KindVAPID, "VAPID key pair", "Every browser subscription made with the old public key stops receiving pushes: browsers must subscribe again."},
	}
}

const maxTagsShown = 30

func (u *UI) appOverview(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return u.showApp(w, r, c, http.StatusOK, appData{})
}

func (u *UI) showApp(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, d appData) error {
	ctx := r.Context()
	d.VAPIDPublicKey = webpush.EncodeBase64(c.app.VAPIDPublicKey)
	d.Kinds = kinds()
	var err error
	if d.Total, err = u.d.Registry.Count(ctx, c.app.ID, registry.Filter{}); err != nil {
		return err
	}
	for _, ch := range []store.Channel{store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs} {
		n, err := u.d.Registry.Count(ctx, c.app.ID, registry.Filter{Channel: ch})
		if err != nil {
			return err
		}
		d.ByType = append(d.ByType, typeCount{ch, n})
	}
	if d.Tags, err = u.d.Registry.Tags(ctx, c.app.ID); err != nil {
		return err
	}
	if len(d.Tags) > maxTagsShown {
		d.MoreTags = len(d.Tags) - maxTagsShown
		d.Tags = d.Tags[:maxTagsShown]
	}
	if info, err := u.d.Channels.FCMInfo(ctx, c.app.ID); err == nil {
		d.FCM = &info
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if info, err := u.d.Channels.APNsInfo(ctx, c.app.ID); err == nil {
		d.APNs = &info
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if u.d.Callbacks != nil {
		if set, err := u.d.Callbacks.Get(ctx, c.app.ID); err == nil {
			d.Callback = &set
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	u.render(w, r, status, "app", u.newView(c, c.app.Name, "app", d))
	return nil
}

func (u *UI) rotate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	k := apps.Kind(r.PostFormValue("kind"))
	known := false
	for _, ki := range kinds() {
		known = known || ki.Kind == k
	}
	if !known {
		return u.showApp(w, r, c, http.StatusBadRequest, appData{Problem: "Choose a credential to rotate."})
	}
	if r.PostFormValue("confirm") != "yes" {
		return u.showApp(w, r, c, http.StatusBadRequest, appData{Problem: "Tick the box to confirm the rotation: the old value stops working at once."})
	}
	creds, err := u.d.Apps.Rotate(r.Context(), c.app.ID, k)
	if err != nil {
		return err
	}
	u.d.Log.InfoContext(r.Context(), "admin rotated a credential", "app_id", c.app.ID, "kind", string(k))
	u.render(w, r, http.StatusOK, "credentials", u.newView(c, "Credential rotated", "app", credentialsData{Creds: creds, Rotated: k}))
	return nil
}

// upload reads an uploaded file field.
func upload(r *http.Request, field string) ([]byte, error) {
	f, _, err := r.FormFile(field)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxUploadBytes))
}

func (u *UI) setFCM(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	body, err := upload(r, "service_account")
	if err != nil || len(body) == 0 {
		return u.showApp(w, r, c, http.StatusBadRequest, appData{Problem: "Choose the service account JSON file to upload."})
	}
	if _, err := u.d.Channels.SetFCM(r.Context(), c.app.ID, body); err != nil {
		return u.showApp(w, r, c, http.StatusBadRequest, appData{Problem: "The service account was refused: " + fmtErr(err)})
	}
	u.d.Log.InfoContext(r.Context(), "admin set FCM credentials", "app_id", c.app.ID)
	return u.redirect(w, r, c, appURL(c.app.ID)+"#fcm", "FCM service account saved.")
}

func (u *UI) setAPNs(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p8, err := upload(r, "key")
	if err != nil || len(p8) == 0 {
		return u.showApp(w, r, c, http.StatusBadRequest, appData{Problem: "Choose the AuthKey .p8 file to upload."})
	}
	k := apps.APNsKey{P8: p8, KeyID: strings.TrimSpace(r.PostFormValue("key_id")), TeamID: strings.TrimSpace(r.PostFormValue("team_id")),
		Topic: strings.TrimSpace(r.PostFormValue("topic")), Production: r.PostFormValue("production") == "yes"}
	if k.KeyID == "" || k.TeamID == "" || k.Topic == "" {
		return u.showApp(w, r, c, http.StatusBadRequest, appData{Problem: "The key id, team id and topic (bundle id) are all needed."})
	}
	if _, err := u.d.Channels.SetAPNs(r.Context(), c.app.ID, k); err != nil {
		return u.showApp(w, r, c, http.StatusBadRequest, appData{Problem: "The APNs key was refused: " + fmtErr(err)})
	}
	u.d.Log.InfoContext(r.Context(), "admin set APNs credentials", "app_id", c.app.ID)
	return u.redirect(w, r, c, appURL(c.app.ID)+"#apns", "APNs key saved.")
}

func (u *UI) deleteFCM(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return u.deleteChannel(w, r, c, store.ChannelFCM, "#fcm", "FCM service account removed.")
}

func (u *UI) deleteAPNs(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return u.deleteChannel(w, r, c, store.ChannelAPNs, "#apns", "APNs key removed.")
}

func (u *UI) deleteChannel(w http.ResponseWriter, r *http.Request, c *reqCtx, ch store.Channel, anchor, done string) error {
	err := u.d.Channels.Delete(r.Context(), c.app.ID, ch)
	if errors.Is(err, store.ErrNotFound) {
		return u.redirect(w, r, c, appURL(c.app.ID)+anchor, "There were no credentials to remove.")
	}
	if err != nil {
		return err
	}
	u.d.Log.InfoContext(r.Context(), "admin removed channel credentials", "app_id", c.app.ID, "channel", string(ch))
	return u.redirect(w, r, c, appURL(c.app.ID)+anchor, done)
}
