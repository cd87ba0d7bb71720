package api

import (
	"errors"
	"io"
	"net/http"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

type appResponse struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	VAPIDPublicKey string         `json:"vapid_public_key"`
	FCM            *apps.FCMInfo  `json:"fcm"`
	APNs           *apps.APNsInfo `json:"apns"`
}

func (a *API) getApp(w http.ResponseWriter, r *http.Request, app store.App) error {
	resp := appResponse{ID: app.ID, Name: app.Name, VAPIDPublicKey: webpush.EncodeBase64(app.VAPIDPublicKey)}
	if a.channels != nil {
		if info, err := a.channels.FCMInfo(r.Context(), app.ID); err == nil {
			resp.FCM = &info
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if info, err := a.channels.APNsInfo(r.Context(), app.ID); err == nil {
			resp.APNs = &info
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// putFCM takes the Google service-account JSON file as the body.
func (a *API) putFCM(w http.ResponseWriter, r *http.Request, app store.App) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge, Message: "a service account file is under 64 KiB"}
	}
	if len(body) == 0 {
		return &Error{Status: http.StatusBadRequest, Code: CodeEmptyBody, Message: "request body is empty; send the service account JSON file"}
	}
	info, err := a.channels.SetFCM(r.Context(), app.ID, body)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		return jsonreq.Fieldf("service_account", "%v", err)
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

type apnsRequest struct {
	Key        string `json:"key"` // the .p8 file's PEM text
	KeyID      string `json:"key_id"`
	TeamID     string `json:"team_id"`
	Topic      string `json:"topic"`
	Production bool   `json:"production"`
}

func (a *API) putAPNs(w http.ResponseWriter, r *http.Request, app store.App) error {
	var req apnsRequest
	if err := jsonreq.Decode(w, r, &req, jsonreq.Options{MaxBytes: 64 << 10}); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"key", req.Key}, {"key_id", req.KeyID}, {"team_id", req.TeamID}, {"topic", req.Topic}} {
		if f.v == "" {
			return jsonreq.Fieldf(f.name, "is required")
		}
	}
	info, err := a.channels.SetAPNs(r.Context(), app.ID, apps.APNsKey{P8: []byte(req.Key), KeyID: req.KeyID, TeamID: req.TeamID, Topic: req.Topic, Production: req.Production})
	if err != nil {
		return jsonreq.Fieldf("key", "%v", err)
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (a *API) deleteFCM(w http.ResponseWriter, r *http.Request, app store.App) error {
	return a.deleteChannel(w, r, app, store.ChannelFCM)
}

func (a *API) deleteAPNs(w http.ResponseWriter, r *http.Request, app store.App) error {
	return a.deleteChannel(w, r, app, store.ChannelAPNs)
}

func (a *API) deleteChannel(w http.ResponseWriter, r *http.Request, app store.App, ch store.Channel) error {
	err := a.channels.Delete(r.Context(), app.ID, ch)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(string(ch) + " credentials")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
