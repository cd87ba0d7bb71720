package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"

	"github.com/heraldpush/herald/internal/apns"
	"github.com/heraldpush/herald/internal/fcm"
	"github.com/heraldpush/herald/internal/store"
)

// FCM delivers to Android (and other FCM) app tokens through fcm.Pusher.
type FCM struct{ P *fcm.Pusher }

var _ Pusher = FCM{}

// Push turns the stored payload into an FCM message and sends it.
func (f FCM) Push(ctx context.Context, sub store.Subscriber, p Push) Attempt {
	m, err := fcm.MessageFromPayload(p.Payload)
	if err != nil {
		return Attempt{Result: store.ResultFailed, Reason: "payload"}
	}
	m.TTL, m.Priority, m.CollapseKey = p.TTL, fcm.PriorityFromUrgency(p.Urgency), p.Topic
	r, reason, after := f.P.PushToken(ctx, p.AppID, sub.Token, m)
	return Attempt{Result: store.Result(r), Reason: reason, RetryAfter: after}
}

// APNs delivers to iOS app tokens through apns.Pusher.
//
// Apple answers BadDeviceToken both for a dead token and for a live one
// sent to the wrong environment (sandbox / production). So that an app
// configured for the wrong environment does not lose every device, a
// BadDeviceToken prunes only once a delivery for that app has confirmed
// the environment since the process started; before that it fails
// ("BadDeviceToken unconfirmed") and the token stays.
type APNs struct {
	P         *apns.Pusher
	confirmed sync.Map // app id → struct{}: an APNs delivery succeeded
}

var _ Pusher = (*APNs)(nil)

// apnsPayload is the part of the stored payload an iOS notification uses.
type apnsPayload struct {
	ID     string                     `json:"id"`
	Title  string                     `json:"title"`
	Body   string                     `json:"body"`
	URL    string                     `json:"url"`
	Extras map[string]json.RawMessage `json:"extras"`
	Data   json.RawMessage            `json:"data"`
}

// Push turns the stored payload into an APNs notification and sends it:
// title and body make the alert; extras, data and the message id travel
// as top-level keys beside "aps".
func (a *APNs) Push(ctx context.Context, sub store.Subscriber, p Push) Attempt {
	var pl apnsPayload
	if err := json.Unmarshal(p.Payload, &pl); err != nil {
		return Attempt{Result: store.ResultFailed, Reason: "payload"}
	}
	custom := map[string]json.RawMessage{}
	for k, v := range pl.Extras {
		custom[k] = v
	}
	if d := bytes.TrimSpace(pl.Data); len(d) > 0 && !bytes.Equal(d, []byte("null")) {
		custom["data"] = d
	}
	if pl.ID != "" {
		id, _ := json.Marshal(pl.ID)
		custom["herald_id"] = id
	}
	delete(custom, "aps")
	delete(custom, "url")
	n := apns.Notification{Token: sub.Token, AppID: p.AppID, Title: pl.Title, Body: pl.Body, URL: pl.URL,
		TTL: p.TTL, CollapseID: p.Topic, Priority: apns.PriorityFor(p.Urgency)}
	if pl.Title != "" || pl.Body != "" {
		n.Sound = "default"
	}
	if len(custom) > 0 {
		n.Data, _ = json.Marshal(custom)
	}
	r, reason, after := a.P.PushToken(ctx, sub.Token, n)
	at := Attempt{Result: store.Result(r), Reason: reason, RetryAfter: after}
	switch {
	case at.Result == store.ResultSent:
		a.confirmed.Store(p.AppID, struct{}{})
	case at.Result == store.ResultPruned && reason == "BadDeviceToken":
		if _, ok := a.confirmed.Load(p.AppID); !ok {
			at = Attempt{Result: store.ResultFailed, Reason: "BadDeviceToken unconfirmed"}
		}
	}
	return at
}
