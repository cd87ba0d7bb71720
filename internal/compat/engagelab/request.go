package engagelab

import (
	"encoding/json"
	"regexp"

	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/send"
)

// Limits of /v4/push. The contract's where it states one; Herald's own
// (send, registry) where it does not.
const (
	// MaxNotificationBytes bounds body.notification and body.message
	// together, compact JSON (the contract's limits table; 21005's own text
	// says 2048, the table 4000: the table wins).
	MaxNotificationBytes = 4000
	MaxRegistrationIDs   = send.MaxRegistrationIDs // 1000 per call
	MaxTagsAnd           = send.MaxTagsAnd         // 20
	MaxTagsNot           = send.MaxTagsNot         // 20
	MaxTags              = send.MaxTags            // not limited by EngageLab
	MaxAliases           = send.MaxAliases         // not limited by EngageLab
	MaxSpreadMinutes     = send.MaxSpreadMinutes   // big_push_duration, 1440
	MaxIDLen             = send.MaxIDLen           // cid, request_id, plan_id: 64
	MaxCustomArgs        = 4096                    // bytes of custom_args
)

// Herald's registration ids are "r_" and unpadded base64url
// (registry.Register); anything else cannot be one of this app's devices.
var (
	registrationRE = regexp.MustCompile(`^r_[A-Za-z0-9_-]{1,62}$`)
	cidRE          = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// pushRequest is a decoded and checked /v4/push body.
type pushRequest struct {
	All                                              bool
	RegistrationIDs, Tags, TagsAnd, TagsNot, Aliases []string

	Notification *notification
	Message      *message

	TTL           *int64
	OverrideMsgID int64
	SpreadMinutes int
	Languages     map[string]language
	Distribution  string // third_party_channel.w3push.distribution
	PlanID        string // accepted, not acted on
	CID           string

	RequestID  *string // echoed when sent, even empty
	CustomArgs json.RawMessage
}

// notification is body.notification, with web.alert overriding
// notification.alert already applied.
type notification struct {
	Title, Alert, URL, Icon, Image string
	Extras                         map[string]any
}

// message is body.message, a custom message handed to open pages.
type message struct {
	Content     json.RawMessage // msg_content: a string or an object
	Title       string
	ContentType string
	Extras      map[string]any
}

// language is one multi_language entry.
type language struct{ Title, Content string }

// decodePush decodes and checks a /v4/push body. Fields are checked in a
// fixed order (to, body, request_id, custom_args) so that a request with
// several faults always gets the same answer.
func decodePush(body []byte) (*pushRequest, *Error) {
	top, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	if err := top.only("from", "to", "body", "request_id", "custom_args"); err != nil {
		return nil, err
	}
	p := &pushRequest{}
	if _, err := top.str("from"); err != nil {
		return nil, err
	}
	raw, ok := top.get("to")
	if !ok {
		return nil, missing("to")
	}
	if err := p.decodeTo(raw); err != nil {
		return nil, err
	}
	raw, ok = top.get("body")
	if !ok {
		return nil, missing("body")
	}
	if err := p.decodeBody(raw); err != nil {
		return nil, err
	}
	if raw, ok := top.get("request_id"); ok {
		id, err := asString(raw, "request_id")
		if err != nil {
			return nil, err
		}
		if len(id) > MaxIDLen {
			return nil, fail(CodeWrongType, "request_id: is %d bytes long, at most %d are allowed", len(id), MaxIDLen)
		}
		p.RequestID = &id
	}
	if raw, ok := top.get("custom_args"); ok {
		if k := kind(raw); k != '{' && k != '"' {
			return nil, wrongType("custom_args", "an object or a string")
		}
		if n := compactLen(raw); n > MaxCustomArgs {
			return nil, fail(CodeWrongType, "custom_args: is %d bytes, at most %d are allowed", n, MaxCustomArgs)
		}
		p.CustomArgs = raw
	}
	return p, p.check()
}

// decodeTo reads "all" or the object of target lists.
func (p *pushRequest) decodeTo(raw json.RawMessage) *Error {
	if kind(raw) == '"' {
		s, _ := asString(raw, "to")
		if s != "all" {
			return invalid("to", `must be "all" or an object of targets, got %q`, s)
		}
		p.All = true
		return nil
	}
	to, err := asObject(raw, "to")
	if err != nil {
		return wrongType("to", `"all" or an object`)
	}
	if err := to.only("registration_id", "tag", "tag_and", "tag_not", "alias"); err != nil {
		return err
	}
	lists := []struct {
		key   string
		dst   *[]string
		max   int
		label int // max bytes per entry
	}{
		{"registration_id", &p.RegistrationIDs, MaxRegistrationIDs, 0},
		{"tag", &p.Tags, MaxTags, registry.MaxTagLen},
		{"tag_and", &p.TagsAnd, MaxTagsAnd, registry.MaxTagLen},
		{"tag_not", &p.TagsNot, MaxTagsNot, registry.MaxTagLen},
		{"alias", &p.Aliases, MaxAliases, registry.MaxAliasLen},
	}
	for _, l := range lists {
		vals, err := to.strings(l.key)
		if err != nil {
			return err
		}
		path := "to." + l.key
		if len(vals) > l.max {
			return tooLong(path, len(vals), l.max, "entries")
		}
		for i, v := range vals {
			switch {
			case l.label == 0 && !registrationRE.MatchString(v):
				return fail(CodeBadRegistrationID, "%s: %q is not a registration id Herald issued (they start with r_)", index(path, i), v)
			case v == "":
				return invalid(index(path, i), "must not be empty")
			case l.label > 0 && len(v) > l.label:
				return fail(CodeWrongType, "%s: is %d bytes long, at most %d are allowed", index(path, i), len(v), l.label)
			}
		}
		*l.dst = vals
	}
	positive := len(p.RegistrationIDs) + len(p.Tags) + len(p.TagsAnd) + len(p.Aliases)
	if positive == 0 && len(p.TagsNot) > 0 {
		return invalid("to.tag_not", "cannot be used alone: combine it with registration_id, tag, tag_and or alias")
	}
	if positive == 0 {
		return fail(CodeMissing, `to: names no target: give "all" or at least one non-empty list`)
	}
	return nil
}

// decodeBody reads body: platform, notification, message and options.
func (p *pushRequest) decodeBody(raw json.RawMessage) *Error {
	b, err := asObject(raw, "body")
	if err != nil {
		return err
	}
	if err := b.only("platform", "notification", "message", "options"); err != nil {
		return err
	}
	if err := decodePlatform(b); err != nil {
		return err
	}
	if raw, ok := b.get("notification"); ok {
		if p.Notification, err = decodeNotification(raw); err != nil {
			return err
		}
	}
	if raw, ok := b.get("message"); ok {
		if p.Message, err = decodeMessage(raw); err != nil {
			return err
		}
	}
	if p.Notification == nil && p.Message == nil {
		return fail(CodeMissing, "body: missing required parameter: give notification or message")
	}
	if n := compactLen(b.fields["notification"]) + compactLen(b.fields["message"]); n > MaxNotificationBytes {
		return fail(CodeTooLarge, "body: notification and message are %d bytes together, at most %d are allowed", n, MaxNotificationBytes)
	}
	if raw, ok := b.get("options"); ok {
		return p.decodeOptions(raw)
	}
	return nil
}

// decodePlatform accepts "web" or an array of "web" only.
func decodePlatform(b object) *Error {
	raw, ok := b.get("platform")
	if !ok {
		return missing("body.platform")
	}
	var list []string
	if kind(raw) == '"' {
		s, _ := asString(raw, "body.platform")
		list = []string{s}
	} else {
		var err *Error
		if kind(raw) != '[' {
			return wrongType("body.platform", `"web" or ["web"]`)
		}
		if list, err = b.strings("platform"); err != nil {
			return err
		}
		if len(list) == 0 {
			return missing("body.platform")
		}
	}
	for _, s := range list {
		if s != "web" {
			return invalid("body.platform", `only "web" is supported, got %q`, s)
		}
	}
	return nil
}

// decodeAlert reads an alert: a string, or an object {"title","body"}.
func decodeAlert(raw json.RawMessage, path string) (title, body string, err *Error) {
	if kind(raw) == '"' {
		body, _ = asString(raw, path)
		return "", body, nil
	}
	o, err := asObject(raw, path)
	if err != nil {
		return "", "", wrongType(path, "a string or an object")
	}
	if err := o.only("title", "body"); err != nil {
		return "", "", err
	}
	if title, err = o.str("title"); err != nil {
		return "", "", err
	}
	if body, err = o.str("body"); err != nil {
		return "", "", err
	}
	return title, body, nil
}

// decodeNotification reads body.notification: web is required; web.alert,
// else notification.alert, is the text; web.url is required.
func decodeNotification(raw json.RawMessage) (*notification, *Error) {
	n, err := asObject(raw, "body.notification")
	if err != nil {
		return nil, err
	}
	if err := n.only("alert", "web"); err != nil {
		return nil, err
	}
	out := &notification{}
	var fallbackTitle string
	if raw, ok := n.get("alert"); ok {
		if fallbackTitle, out.Alert, err = decodeAlert(raw, "body.notification.alert"); err != nil {
			return nil, err
		}
	}
	raw, ok := n.get("web")
	if !ok {
		return nil, missing("body.notification.web")
	}
	web, err := asObject(raw, "body.notification.web")
	if err != nil {
		return nil, err
	}
	if err := web.only("alert", "url", "title", "extras", "Extras", "icon", "image"); err != nil {
		return nil, err
	}
	if raw, ok := web.get("alert"); ok {
		title, alert, err := decodeAlert(raw, "body.notification.web.alert")
		if err != nil {
			return nil, err
		}
		if alert != "" {
			out.Alert = alert
		}
		if title != "" {
			fallbackTitle = title
		}
	}
	if out.Alert == "" {
		return nil, missing("body.notification.web.alert")
	}
	if out.URL, err = web.str("url"); err != nil {
		return nil, err
	}
	if out.URL == "" {
		return nil, missing("body.notification.web.url")
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"title", &out.Title}, {"icon", &out.Icon}, {"image", &out.Image}} {
		if *f.dst, err = web.str(f.key); err != nil {
			return nil, err
		}
	}
	if out.Title == "" {
		out.Title = fallbackTitle
	}
	if out.Extras, err = mergedExtras(web); err != nil {
		return nil, err
	}
	return out, nil
}

// mergedExtras reads extras and Extras (the table's spelling) together;
// on a key in both, extras wins.
func mergedExtras(o object) (map[string]any, *Error) {
	var out map[string]any
	for _, key := range []string{"Extras", "extras"} {
		raw, ok := o.get(key)
		if !ok {
			continue
		}
		m, err := extras(raw, child(o.path, key))
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = map[string]any{}
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// decodeMessage reads body.message; msg_content is required.
func decodeMessage(raw json.RawMessage) (*message, *Error) {
	m, err := asObject(raw, "body.message")
	if err != nil {
		return nil, err
	}
	if err := m.only("msg_content", "title", "content_type", "extras", "Extras"); err != nil {
		return nil, err
	}
	out := &message{}
	content, ok := m.get("msg_content")
	switch k := kind(content); {
	case !ok || string(content) == `""`:
		return nil, missing("body.message.msg_content")
	case k != '"' && k != '{':
		return nil, wrongType("body.message.msg_content", "a string or an object")
	}
	out.Content = content
	if out.Title, err = m.str("title"); err != nil {
		return nil, err
	}
	if out.ContentType, err = m.str("content_type"); err != nil {
		return nil, err
	}
	if out.Extras, err = mergedExtras(m); err != nil {
		return nil, err
	}
	return out, nil
}

// check applies the rules that span fields.
func (p *pushRequest) check() *Error {
	if p.Distribution != "" && (p.Notification == nil || p.Notification.Alert == "") {
		return fail(CodeChannelNoAlert, "body.options.third_party_channel: distribution is set but the notification alert is empty")
	}
	return nil
}
