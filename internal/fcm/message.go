package fcm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Priority is FCM's Android delivery priority. HIGH wakes a dozing
// device at once; NORMAL may wait for a maintenance window.
type Priority string

// The priorities FCM accepts. The empty Priority sends none, which FCM
// treats as HIGH for notification messages and NORMAL for data messages.
const (
	PriorityHigh   Priority = "HIGH"
	PriorityNormal Priority = "NORMAL"
)

// PriorityFromUrgency maps an RFC 8030 Urgency to a Priority: "high" is
// HIGH, anything else (normal, low, very-low) is NORMAL, and "" is "".
func PriorityFromUrgency(urgency string) Priority {
	switch urgency {
	case "":
		return ""
	case "high":
		return PriorityHigh
	}
	return PriorityNormal
}

const (
	// MaxTTL is the longest TTL FCM accepts (28 days); a longer one is
	// sent as MaxTTL.
	MaxTTL = 28 * 24 * time.Hour
	// maxAPNsCollapseID is APNs' limit on apns-collapse-id, in bytes.
	maxAPNsCollapseID = 64
	// maxWebPushTopic is RFC 8030's limit on the Topic header.
	maxWebPushTopic = 32
)

// Message is one FCM message for one device. It is a notification message
// (shown by the system) when Title, Body or Image is set, and otherwise a
// data-only message (handed to the app), in which case Icon, Tag and
// ClickAction are not sent.
type Message struct {
	// Token is the device's FCM registration token.
	Token string

	Title string
	Body  string
	Image string // URL of an image shown in the notification
	Icon  string // Android: a drawable resource name; Web: an icon URL
	// Tag replaces an earlier notification with the same tag in the
	// notification drawer; empty uses CollapseKey.
	Tag string
	// ClickAction is Android's click_action: an intent-filter action the
	// app registered, opened when the user taps the notification.
	ClickAction string
	// URL is where a tap should lead. It is sent as Data["url"] (replacing
	// any there) for the app to open, and, when https, as the web client's
	// fcm_options.link. Android has no link field of its own.
	URL string
	// Data is delivered to the app as string key/values. FCM refuses the
	// keys "from", "notification", "message_type" and any starting with
	// "google" or "gcm".
	Data map[string]string

	// TTL is how long FCM keeps the message for an offline device: sent
	// in whole seconds, rounded up, at most MaxTTL. Zero sends none, and
	// FCM keeps the message for its default of 28 days.
	TTL time.Duration
	// Priority is optional; see PriorityFromUrgency.
	Priority Priority
	// CollapseKey makes this message replace a pending one with the same
	// key (Android collapse_key, apns-collapse-id up to 64 bytes, and the
	// Web Push Topic when it is a valid one).
	CollapseKey string
}

func (m Message) isNotification() bool { return m.Title != "" || m.Body != "" || m.Image != "" }

// ErrInvalidMessage is wrapped by errors for a Message FCM would refuse.
var ErrInvalidMessage = errors.New("fcm: invalid message")

func (m Message) validate() error {
	if m.Token == "" {
		return fmt.Errorf("%w: no token", ErrInvalidMessage)
	}
	if m.TTL < 0 {
		return fmt.Errorf("%w: negative TTL %s", ErrInvalidMessage, m.TTL)
	}
	switch m.Priority {
	case "", PriorityHigh, PriorityNormal:
	default:
		return fmt.Errorf("%w: priority %q is not HIGH or NORMAL", ErrInvalidMessage, m.Priority)
	}
	for k := range m.Data {
		if ReservedDataKey(k) {
			return fmt.Errorf("%w: data key %q is reserved by FCM", ErrInvalidMessage, k)
		}
	}
	return nil
}

// ReservedDataKey reports whether FCM refuses k as a data key.
func ReservedDataKey(k string) bool {
	switch k {
	case "from", "notification", "message_type":
		return true
	}
	return strings.HasPrefix(k, "google") || strings.HasPrefix(k, "gcm")
}

// The request body of projects.messages.send, the fields Herald sets.
type (
	wireRequest struct {
		Message wireMessage `json:"message"`
	}
	wireMessage struct {
		Token        string            `json:"token"`
		Notification *wireNotification `json:"notification,omitempty"`
		Data         map[string]string `json:"data,omitempty"`
		Android      *wireAndroid      `json:"android,omitempty"`
		Webpush      *wireWebpush      `json:"webpush,omitempty"`
		APNs         *wireAPNs         `json:"apns,omitempty"`
	}
	wireNotification struct {
		Title string `json:"title,omitempty"`
		Body  string `json:"body,omitempty"`
		Image string `json:"image,omitempty"`
	}
	wireAndroid struct {
		CollapseKey  string                   `json:"collapse_key,omitempty"`
		Priority     Priority                 `json:"priority,omitempty"`
		TTL          string                   `json:"ttl,omitempty"`
		Notification *wireAndroidNotification `json:"notification,omitempty"`
	}
	wireAndroidNotification struct {
		Icon        string `json:"icon,omitempty"`
		Tag         string `json:"tag,omitempty"`
		ClickAction string `json:"click_action,omitempty"`
	}
	wireWebpush struct {
		Headers      map[string]string    `json:"headers,omitempty"`
		Notification *wireWebNotification `json:"notification,omitempty"`
		FCMOptions   *wireWebFCMOptions   `json:"fcm_options,omitempty"`
	}
	wireWebNotification struct {
		Icon string `json:"icon,omitempty"`
		Tag  string `json:"tag,omitempty"`
	}
	wireWebFCMOptions struct {
		Link string `json:"link"`
	}
	wireAPNs struct {
		Headers map[string]string `json:"headers"`
	}
)

// encode validates m and builds the request body. now dates APNs'
// absolute apns-expiration.
func (m Message) encode(now time.Time) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	w := wireMessage{Token: m.Token, Data: m.Data}
	if m.URL != "" {
		w.Data = make(map[string]string, len(m.Data)+1)
		for k, v := range m.Data {
			w.Data[k] = v
		}
		w.Data["url"] = m.URL
	}
	tag := m.Tag
	if tag == "" {
		tag = m.CollapseKey
	}
	notif := m.isNotification()
	if notif {
		w.Notification = &wireNotification{Title: m.Title, Body: m.Body, Image: m.Image}
	}

	a := wireAndroid{CollapseKey: m.CollapseKey, Priority: m.Priority}
	if m.TTL > 0 {
		a.TTL = strconv.FormatInt(ttlSeconds(m.TTL), 10) + "s"
	}
	if notif && (m.Icon != "" || tag != "" || m.ClickAction != "") {
		a.Notification = &wireAndroidNotification{Icon: m.Icon, Tag: tag, ClickAction: m.ClickAction}
	}
	if a != (wireAndroid{}) {
		w.Android = &a
	}

	var wp wireWebpush
	wh := map[string]string{}
	if m.TTL > 0 {
		wh["TTL"] = strconv.FormatInt(ttlSeconds(m.TTL), 10)
	}
	switch m.Priority {
	case PriorityHigh:
		wh["Urgency"] = "high"
	case PriorityNormal:
		wh["Urgency"] = "normal"
	}
	if validTopic(m.CollapseKey) {
		wh["Topic"] = m.CollapseKey
	}
	if len(wh) > 0 {
		wp.Headers = wh
	}
	if notif && (m.Icon != "" || tag != "") {
		wp.Notification = &wireWebNotification{Icon: m.Icon, Tag: tag}
	}
	if notif && strings.HasPrefix(m.URL, "https://") {
		wp.FCMOptions = &wireWebFCMOptions{Link: m.URL}
	}
	if wp.Headers != nil || wp.Notification != nil || wp.FCMOptions != nil {
		w.Webpush = &wp
	}

	ah := map[string]string{}
	if m.TTL > 0 {
		ah["apns-expiration"] = strconv.FormatInt(now.Add(min(m.TTL, MaxTTL)).Unix(), 10)
	}
	if m.CollapseKey != "" && len(m.CollapseKey) <= maxAPNsCollapseID {
		ah["apns-collapse-id"] = m.CollapseKey
	}
	// APNs allows priority 10 only for alerts: a background (data-only)
	// push must be 5, so HIGH is left to FCM's default there.
	switch {
	case m.Priority == PriorityNormal:
		ah["apns-priority"] = "5"
	case m.Priority == PriorityHigh && notif:
		ah["apns-priority"] = "10"
	}
	if len(ah) > 0 {
		w.APNs = &wireAPNs{Headers: ah}
	}

	b, err := json.Marshal(wireRequest{Message: w})
	if err != nil {
		return nil, fmt.Errorf("fcm: encode message: %w", err)
	}
	return b, nil
}

// ttlSeconds rounds d up to whole seconds, capped at MaxTTL: rounding
// down could turn a short TTL into 0, FCM's "now or never".
func ttlSeconds(d time.Duration) int64 {
	d = min(d, MaxTTL)
	return int64((d + time.Second - 1) / time.Second)
}

// validTopic reports whether s can be a Web Push Topic (RFC 8030 5.4).
func validTopic(s string) bool {
	if s == "" || len(s) > maxWebPushTopic {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
