package fcmtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const (
	// MaxPayload is FCM's limit on a message's payload (data and
	// notification), in bytes.
	MaxPayload = 4096
	// maxBody bounds a request body.
	maxBody = 64 << 10
	// maxTTL is FCM's longest TTL (28 days).
	maxTTL = 28 * 24 * time.Hour
)

// The request body of projects.messages.send as FCM documents it, with
// the fields the fake knows. Decoding is strict: an unknown field is
// refused with 400 INVALID_ARGUMENT, as FCM does.
type (
	sendRequest struct {
		ValidateOnly bool    `json:"validate_only"`
		Message      Message `json:"message"`
	}

	// Message is an accepted message, as it was sent.
	Message struct {
		Name         string            `json:"name,omitempty"`
		Token        string            `json:"token,omitempty"`
		Topic        string            `json:"topic,omitempty"`
		Condition    string            `json:"condition,omitempty"`
		Notification *Notification     `json:"notification,omitempty"`
		Data         map[string]string `json:"data,omitempty"`
		Android      *AndroidConfig    `json:"android,omitempty"`
		Webpush      *WebpushConfig    `json:"webpush,omitempty"`
		APNs         *APNsConfig       `json:"apns,omitempty"`
		FCMOptions   *FCMOptions       `json:"fcm_options,omitempty"`

		// Project is the project the message was sent to (the path's).
		Project string `json:"-"`
		// Body is the request body as received.
		Body []byte `json:"-"`
		// At is when the message was accepted (Options.Now).
		At time.Time `json:"-"`
	}

	// Notification is the message's cross-platform notification.
	Notification struct {
		Title string `json:"title,omitempty"`
		Body  string `json:"body,omitempty"`
		Image string `json:"image,omitempty"`
	}

	// AndroidConfig is the message's Android part.
	AndroidConfig struct {
		CollapseKey           string               `json:"collapse_key,omitempty"`
		Priority              string               `json:"priority,omitempty"`
		TTL                   string               `json:"ttl,omitempty"`
		RestrictedPackageName string               `json:"restricted_package_name,omitempty"`
		Data                  map[string]string    `json:"data,omitempty"`
		Notification          *AndroidNotification `json:"notification,omitempty"`
		FCMOptions            *FCMOptions          `json:"fcm_options,omitempty"`
		DirectBootOK          bool                 `json:"direct_boot_ok,omitempty"`
	}

	// AndroidNotification is the Android notification's extra fields.
	AndroidNotification struct {
		Title        string `json:"title,omitempty"`
		Body         string `json:"body,omitempty"`
		Icon         string `json:"icon,omitempty"`
		Color        string `json:"color,omitempty"`
		Sound        string `json:"sound,omitempty"`
		Tag          string `json:"tag,omitempty"`
		ClickAction  string `json:"click_action,omitempty"`
		ChannelID    string `json:"channel_id,omitempty"`
		Image        string `json:"image,omitempty"`
		Priority     string `json:"notification_priority,omitempty"`
		Visibility   string `json:"visibility,omitempty"`
		DefaultSound bool   `json:"default_sound,omitempty"`
	}

	// WebpushConfig is the message's Web Push part.
	WebpushConfig struct {
		Headers      map[string]string  `json:"headers,omitempty"`
		Data         map[string]string  `json:"data,omitempty"`
		Notification map[string]any     `json:"notification,omitempty"`
		FCMOptions   *WebpushFCMOptions `json:"fcm_options,omitempty"`
	}

	// WebpushFCMOptions is webpush.fcm_options.
	WebpushFCMOptions struct {
		Link           string `json:"link,omitempty"`
		AnalyticsLabel string `json:"analytics_label,omitempty"`
	}

	// APNsConfig is the message's APNs part.
	APNsConfig struct {
		Headers    map[string]string `json:"headers,omitempty"`
		Payload    map[string]any    `json:"payload,omitempty"`
		FCMOptions map[string]string `json:"fcm_options,omitempty"`
	}

	// FCMOptions is fcm_options.
	FCMOptions struct {
		AnalyticsLabel string `json:"analytics_label,omitempty"`
	}
)

var ttlRE = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,9})?s$`)

// handleSend is projects.messages.send.
func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if b := s.faults.pickGlobal(); b != nil && s.inject(w, r, b) {
		return
	}
	acct, err := s.bearer(r)
	if err != nil {
		s.unauthorized.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		s.fcmError(w, http.StatusUnauthorized, "", err.Error())
		return
	}
	project := r.PathValue("project")
	if project != acct.projectID {
		s.invalid.Add(1)
		s.fcmError(w, http.StatusForbidden, "", fmt.Sprintf("Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/%s'", project))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.invalid.Add(1)
		s.fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		s.invalid.Add(1)
		s.fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Request payload size exceeds the limit")
		return
	}
	var req sendRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.invalid.Add(1)
		s.fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	m := req.Message
	if err := validate(m); err != nil {
		s.invalid.Add(1)
		s.fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	if b := s.faults.pickDevice(m.Token); b != nil && s.inject(w, r, b) {
		return
	}
	name := fmt.Sprintf("projects/%s/messages/0:%d", project, s.msgSeq.Add(1))
	if !req.ValidateOnly {
		s.deliver(m, project, name, body)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]string{"name": name})
}

// deliver counts (and with Record keeps) an accepted message.
func (s *Server) deliver(m Message, project, name string, body []byte) {
	v, ok := s.perTok.Load(m.Token)
	if !ok {
		v, _ = s.perTok.LoadOrStore(m.Token, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(1)
	if s.o.Record {
		m.Name, m.Project, m.Body, m.At = name, project, body, s.now()
		s.rmu.Lock()
		s.records = append(s.records, m)
		s.rmu.Unlock()
	}
	s.accepted.Add(1)
}

// validate checks what FCM checks of the fields the fake knows.
func validate(m Message) error {
	targets := 0
	for _, t := range []string{m.Token, m.Topic, m.Condition} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		return errors.New("exactly one of message.token, message.topic and message.condition must be set")
	}
	if m.Topic != "" || m.Condition != "" {
		return errors.New("fcmtest delivers to tokens only")
	}
	if strings.ContainsAny(m.Token, " \t\r\n") {
		return errors.New("The registration token is not a valid FCM registration token")
	}
	size := 0
	for k, v := range m.Data {
		if reservedKey(k) {
			return fmt.Errorf("Invalid data payload key: %s", k)
		}
		size += len(k) + len(v)
	}
	if n := m.Notification; n != nil {
		size += len(n.Title) + len(n.Body) + len(n.Image)
	}
	if size > MaxPayload {
		return fmt.Errorf("Message is too big: %d bytes of data and notification, at most %d", size, MaxPayload)
	}
	if a := m.Android; a != nil {
		if err := validateAndroid(a); err != nil {
			return err
		}
	}
	if wp := m.Webpush; wp != nil {
		if err := validateWebpush(wp); err != nil {
			return err
		}
	}
	if ap := m.APNs; ap != nil {
		if err := validateAPNs(ap); err != nil {
			return err
		}
	}
	return nil
}

func reservedKey(k string) bool {
	switch k {
	case "from", "notification", "message_type":
		return true
	}
	return strings.HasPrefix(k, "google") || strings.HasPrefix(k, "gcm")
}

func validateAndroid(a *AndroidConfig) error {
	switch a.Priority {
	case "", "NORMAL", "HIGH":
	default:
		return fmt.Errorf("Invalid value at 'message.android.priority' (%q)", a.Priority)
	}
	if a.TTL != "" {
		if !ttlRE.MatchString(a.TTL) {
			return fmt.Errorf("Invalid value at 'message.android.ttl' (%q): a duration in seconds like \"3.5s\"", a.TTL)
		}
		d, err := time.ParseDuration(a.TTL)
		if err != nil || d > maxTTL {
			return fmt.Errorf("Invalid value at 'message.android.ttl' (%q): at most %ds", a.TTL, int(maxTTL/time.Second))
		}
	}
	for k := range a.Data {
		if reservedKey(k) {
			return fmt.Errorf("Invalid android data payload key: %s", k)
		}
	}
	return nil
}

func validateWebpush(wp *WebpushConfig) error {
	h := wp.Headers
	if v, ok := h["TTL"]; ok {
		if n, err := strconv.ParseUint(v, 10, 32); err != nil || time.Duration(n)*time.Second > maxTTL {
			return fmt.Errorf("Invalid webpush TTL header %q", v)
		}
	}
	if v, ok := h["Urgency"]; ok {
		switch v {
		case "very-low", "low", "normal", "high":
		default:
			return fmt.Errorf("Invalid webpush Urgency header %q", v)
		}
	}
	if v, ok := h["Topic"]; ok && !validTopic(v) {
		return fmt.Errorf("Invalid webpush Topic header %q", v)
	}
	if o := wp.FCMOptions; o != nil && o.Link != "" && !strings.HasPrefix(o.Link, "https://") {
		return errors.New("The link must be HTTPS: message.webpush.fcm_options.link")
	}
	return nil
}

func validTopic(s string) bool {
	if s == "" || len(s) > 32 {
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

func validateAPNs(ap *APNsConfig) error {
	h := ap.Headers
	if v, ok := h["apns-priority"]; ok && v != "5" && v != "10" && v != "1" {
		return fmt.Errorf("Invalid apns-priority %q", v)
	}
	if v, ok := h["apns-expiration"]; ok {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("Invalid apns-expiration %q", v)
		}
	}
	if v, ok := h["apns-collapse-id"]; ok && len(v) > 64 {
		return errors.New("apns-collapse-id is longer than 64 bytes")
	}
	return nil
}

// rpcStatus is the google.rpc.Code name Google gives with an HTTP status.
func rpcStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusInternalServerError:
		return "INTERNAL"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	return "UNKNOWN"
}

// fcmError answers a Google API error, with FCM's error code in details
// when code is set.
func (s *Server) fcmError(w http.ResponseWriter, status int, code, msg string) {
	type detail struct {
		Type      string `json:"@type"`
		ErrorCode string `json:"errorCode"`
	}
	e := struct {
		Code    int      `json:"code"`
		Message string   `json:"message"`
		Status  string   `json:"status"`
		Details []detail `json:"details,omitempty"`
	}{Code: status, Message: msg, Status: rpcStatus(status)}
	if code != "" {
		e.Details = []detail{{Type: "type.googleapis.com/google.firebase.fcm.v1.FcmError", ErrorCode: code}}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}
