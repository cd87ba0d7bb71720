package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

// Messages is what the message endpoints need beyond send.
type Messages interface {
	Message(ctx context.Context, appID string, id int64) (store.Message, error)
	ListMessages(ctx context.Context, appID string, beforeID int64, limit int) ([]store.Message, error)
}

// Canceller cancels a message that has not started (delivery.Engine).
type Canceller interface {
	Cancel(ctx context.Context, appID string, id int64) (store.Message, error)
}

// CodeConflict: the object is not in a state that allows the request.
const CodeConflict = "conflict"

type sendResponse struct {
	ID        string `json:"id"`
	RequestID string `json:"request_id,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

func (a *API) sendMessage(w http.ResponseWriter, r *http.Request, app store.App) error {
	var req send.Request
	if err := jsonreq.Decode(w, r, &req, jsonreq.Options{}); err != nil {
		return err
	}
	m, created, err := a.send.Send(r.Context(), app.ID, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, sendResponse{ID: strconv.FormatInt(m.ID, 10), RequestID: req.RequestID, Duplicate: !created})
	return nil
}

// messageJSON is a message's state and counters.
type messageJSON struct {
	ID            string           `json:"id"`
	State         string           `json:"state"`
	RequestID     string           `json:"request_id,omitempty"`
	DedupID       string           `json:"dedup_id,omitempty"`
	CreatedAt     time.Time        `json:"created_at"`
	SendAt        time.Time        `json:"send_at"`
	LocalTime     string           `json:"local_time,omitempty"`
	FinishedAt    *time.Time       `json:"finished_at"`
	Targeted      int64            `json:"targeted"`
	Sent          int64            `json:"sent"`
	Failed        int64            `json:"failed"`
	Pruned        int64            `json:"pruned"`
	Expired       int64            `json:"expired"`
	Received      int64            `json:"received"`
	Clicked       int64            `json:"clicked"`
	FailedReasons map[string]int64 `json:"failed_reasons"`
}

func messageToJSON(m store.Message) messageJSON {
	j := messageJSON{ID: strconv.FormatInt(m.ID, 10), State: string(m.State), RequestID: m.RequestID, DedupID: m.DedupID,
		CreatedAt: m.CreatedAt, SendAt: m.SendAt, LocalTime: m.LocalTime, Targeted: m.Targeted, Sent: m.Sent, Failed: m.Failed,
		Pruned: m.Pruned, Expired: m.Expired, Received: m.Received, Clicked: m.Clicked, FailedReasons: m.FailedReasons}
	if !m.FinishedAt.IsZero() {
		t := m.FinishedAt
		j.FinishedAt = &t
	}
	if j.FailedReasons == nil {
		j.FailedReasons = map[string]int64{}
	}
	return j
}

func messageID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound("message")
	}
	return id, nil
}

func (a *API) getMessage(w http.ResponseWriter, r *http.Request, app store.App) error {
	id, err := messageID(r)
	if err != nil {
		return err
	}
	m, err := a.messages.Message(r.Context(), app.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("message")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, messageToJSON(m))
	return nil
}

func (a *API) listMessages(w http.ResponseWriter, r *http.Request, app store.App) error {
	var before int64
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			return jsonreq.Fieldf("cursor", "is not a cursor this API returned")
		}
		before = n
	}
	const limit = 50
	list, err := a.messages.ListMessages(r.Context(), app.ID, before, limit)
	if err != nil {
		return err
	}
	out := struct {
		Messages   []messageJSON `json:"messages"`
		NextCursor string        `json:"next_cursor"`
	}{Messages: make([]messageJSON, len(list))}
	for i, m := range list {
		out.Messages[i] = messageToJSON(m)
	}
	if len(list) == limit {
		out.NextCursor = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) cancelMessage(w http.ResponseWriter, r *http.Request, app store.App) error {
	id, err := messageID(r)
	if err != nil {
		return err
	}
	m, err := a.cancel.Cancel(r.Context(), app.ID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("message")
	case errors.Is(err, store.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "message is " + string(m.State) + "; only a scheduled or queued message, or a local-time one until it is done, can be cancelled"}
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, messageToJSON(m))
	return nil
}
