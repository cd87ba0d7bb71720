package apns

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

const (
	// MaxPayload is the largest JSON body APNs accepts for alert and
	// background notifications; Send refuses a larger one before sending.
	MaxPayload = 4096
	// MaxCollapseID is the longest apns-collapse-id, in bytes.
	MaxCollapseID = 64
	// maxTokenLen bounds a device token in hex. Today's tokens are 64 hex
	// digits; Apple says they may grow, so only absurd lengths are refused.
	maxTokenLen = 200
)

// ErrPayloadTooLarge is returned (wrapped) for a notification whose JSON
// body would be over MaxPayload bytes.
var ErrPayloadTooLarge = errors.New("apns: payload too large")

// PushType is the apns-push-type header.
type PushType string

// The push types Herald sends.
const (
	// PushAlert shows something to the user.
	PushAlert PushType = "alert"
	// PushBackground wakes the app to handle data, showing nothing.
	PushBackground PushType = "background"
)

// Priority is the apns-priority header.
type Priority int

// The priorities. The zero Priority is PriorityHigh for an alert and
// PriorityLow for a background push.
const (
	// PriorityLow (5) lets the device deliver when it saves power. Apple
	// requires it for background pushes.
	PriorityLow Priority = 5
	// PriorityHigh (10) delivers at once.
	PriorityHigh Priority = 10
)

// PriorityFor maps a Web Push style urgency (RFC 8030: very-low, low,
// normal, high) to a priority, so one message can go to every channel.
func PriorityFor(urgency string) Priority {
	switch urgency {
	case "very-low", "low":
		return PriorityLow
	}
	return PriorityHigh
}

// Notification is one push to one device.
type Notification struct {
	// Token is the device token, in hex, as the app got it from
	// registerForRemoteNotifications.
	Token string
	// AppID is the Herald app whose credentials Pusher uses; Client
	// ignores it.
	AppID string
	// ID, optional, is sent as apns-id (a canonical UUID) so the device
	// and APNs report the same id; APNs makes one up otherwise.
	ID string

	// Title and Body are the alert's text. With both empty the push is a
	// background (data-only) push: aps carries content-available 1 and no
	// alert, and it goes with priority 5.
	Title string
	Body  string
	// Sound names a sound in the app bundle ("default" for the system
	// sound); empty plays none. Alerts only.
	Sound string
	// MutableContent lets the app's notification service extension change
	// the alert before it is shown (to fetch an image, say). Alerts only.
	MutableContent bool
	// URL, when set, is sent as the top-level "url" key for the app to open.
	URL string
	// Data, when set, must be a JSON object; its keys are sent at the top
	// level beside "aps". It may not use "aps", nor "url" when URL is set.
	Data json.RawMessage

	// TTL is how long APNs keeps trying to deliver, sent as the
	// apns-expiration time. 0 means deliver now or never.
	TTL time.Duration
	// CollapseID, at most 64 bytes, makes this notification replace an
	// earlier one with the same id on the device.
	CollapseID string
	// Priority is apns-priority; see the constants. Background pushes
	// always go with PriorityLow, as APNs requires.
	Priority Priority
}

// PushType is the apns-push-type n is sent with.
func (n Notification) PushType() PushType {
	if n.Title == "" && n.Body == "" {
		return PushBackground
	}
	return PushAlert
}

// aps is the "aps" dictionary.
type aps struct {
	Alert            *alert `json:"alert,omitempty"`
	Sound            string `json:"sound,omitempty"`
	MutableContent   int    `json:"mutable-content,omitempty"`
	ContentAvailable int    `json:"content-available,omitempty"`
}

type alert struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
}

// Payload returns the JSON body APNs gets for n: {"aps":{...},"url":...}
// with Data's keys beside them, in sorted key order. It fails with
// ErrPayloadTooLarge past MaxPayload bytes.
func (n Notification) Payload() ([]byte, error) {
	top := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(n.Data)) > 0 {
		if err := json.Unmarshal(n.Data, &top); err != nil || top == nil {
			return nil, errors.New("apns: data is not a JSON object")
		}
		if _, ok := top["aps"]; ok {
			return nil, errors.New(`apns: data may not have an "aps" key`)
		}
		if _, ok := top["url"]; ok && n.URL != "" {
			return nil, errors.New(`apns: data has a "url" key and URL is set`)
		}
	}
	var a aps
	if n.PushType() == PushAlert {
		a.Alert = &alert{Title: n.Title, Body: n.Body}
		a.Sound = n.Sound
		if n.MutableContent {
			a.MutableContent = 1
		}
	} else {
		a.ContentAvailable = 1
	}
	var err error
	if top["aps"], err = marshal(a); err != nil {
		return nil, fmt.Errorf("apns: payload: %w", err)
	}
	if n.URL != "" {
		if top["url"], err = marshal(n.URL); err != nil {
			return nil, fmt.Errorf("apns: payload: %w", err)
		}
	}
	b, err := marshal(top)
	if err != nil {
		return nil, fmt.Errorf("apns: payload: %w", err)
	}
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes, at most %d allowed", ErrPayloadTooLarge, len(b), MaxPayload)
	}
	return b, nil
}

// marshal is json.Marshal without HTML escaping: "&" stays one byte
// rather than six, which matters under a 4 KiB limit.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// header sets the apns-* headers for n, with expiration counted from now.
func (n Notification) header(h http.Header, topic string, now time.Time) {
	pt := n.PushType()
	h.Set("apns-topic", topic)
	h.Set("apns-push-type", string(pt))
	prio := n.Priority
	if prio == 0 {
		prio = PriorityHigh
	}
	if pt == PushBackground {
		prio = PriorityLow
	}
	h.Set("apns-priority", strconv.Itoa(int(prio)))
	exp := int64(0)
	if n.TTL > 0 {
		exp = now.Add(n.TTL).Unix()
	}
	h.Set("apns-expiration", strconv.FormatInt(exp, 10))
	if n.CollapseID != "" {
		h.Set("apns-collapse-id", n.CollapseID)
	}
	if n.ID != "" {
		h.Set("apns-id", n.ID)
	}
	h.Set("content-type", "application/json")
}

// check refuses what APNs would refuse, before anything is sent. The
// returned reason is Apple's name for the problem where it has one.
func (n Notification) check() (reason string, err error) {
	if !validToken(n.Token) {
		return "BadDeviceToken", fmt.Errorf("apns: device token is not 1 to %d hex digits", maxTokenLen)
	}
	if len(n.CollapseID) > MaxCollapseID {
		return "BadCollapseId", fmt.Errorf("apns: collapse id is %d bytes, at most %d allowed", len(n.CollapseID), MaxCollapseID)
	}
	if n.ID != "" && !validUUID(n.ID) {
		return "BadMessageId", fmt.Errorf("apns: id %q is not a canonical UUID", n.ID)
	}
	if n.TTL < 0 {
		return "BadExpirationDate", fmt.Errorf("apns: negative TTL %s", n.TTL)
	}
	switch n.Priority {
	case 0, PriorityLow, PriorityHigh:
	default:
		return "BadPriority", fmt.Errorf("apns: priority %d is not 5 or 10", n.Priority)
	}
	return "", nil
}

// validToken also keeps the token from changing the request path.
func validToken(t string) bool {
	if len(t) == 0 || len(t) > maxTokenLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isHex(t[i]) {
			return false
		}
	}
	return true
}

// validUUID accepts the 8-4-4-4-12 hex form.
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// LogValue keeps the device token, which identifies a person's device, and
// the text out of logs.
func (n Notification) LogValue() slog.Value {
	tok := n.Token
	if len(tok) > 8 {
		tok = tok[:8] + "…"
	}
	return slog.GroupValue(
		slog.String("app_id", n.AppID),
		slog.String("token", tok),
		slog.String("push_type", string(n.PushType())),
		slog.String("collapse_id", n.CollapseID),
	)
}
