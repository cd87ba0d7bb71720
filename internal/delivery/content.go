package delivery

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/heraldpush/herald/internal/webpush"
)

// Content is what a message shows or carries. It is stored as the
// message's Content JSON and turned into each recipient's payload.
type Content struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	URL   string `json:"url,omitempty"`
	Icon  string `json:"icon,omitempty"`
	Image string `json:"image,omitempty"`
	// Tag lets a later notification replace an earlier one on the device.
	Tag string `json:"tag,omitempty"`
	// Extras are key/values handed to the page with the notification.
	Extras map[string]any `json:"extras,omitempty"`
	// Data makes this a data message: delivered to open pages, not shown.
	Data json.RawMessage `json:"data,omitempty"`
	// Languages holds per-language title and body, chosen by the device's
	// language; Title and Body are the default.
	Languages map[string]Localized `json:"languages,omitempty"`
	// Raw, when set, is sent as the payload exactly (the guide's /api/push
	// forwards the site's own body).
	Raw json.RawMessage `json:"raw,omitempty"`
	// TagPrefix, when Tag is empty, tags the notification TagPrefix
	// followed by the message id. The id is known only once the message is
	// stored, and a later message can then replace this one by naming its
	// id (EngageLab's override_msg_id).
	TagPrefix string `json:"tag_prefix,omitempty"`
}

// Localized is one language's text.
type Localized struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	// Data, when set, replaces the message's Data for this language (a
	// data message whose text is translated, as EngageLab's multi_language
	// does for message.msg_content).
	Data json.RawMessage `json:"data,omitempty"`
}

// payload is the JSON a service worker receives.
type payload struct {
	ID     string          `json:"id"`
	Title  string          `json:"title,omitempty"`
	Body   string          `json:"body,omitempty"`
	URL    string          `json:"url,omitempty"`
	Icon   string          `json:"icon,omitempty"`
	Image  string          `json:"image,omitempty"`
	Tag    string          `json:"tag,omitempty"`
	Extras map[string]any  `json:"extras,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// Payload returns the bytes sent to a device whose language is lang.
func (c Content) Payload(msgID int64, lang string) ([]byte, error) {
	if len(c.Raw) > 0 {
		return c.Raw, nil
	}
	p := payload{ID: strconv.FormatInt(msgID, 10), Title: c.Title, Body: c.Body, URL: c.URL,
		Icon: c.Icon, Image: c.Image, Tag: c.Tag, Extras: c.Extras, Data: c.Data}
	if p.Tag == "" && c.TagPrefix != "" {
		p.Tag = c.TagPrefix + p.ID
	}
	if l, ok := c.localized(lang); ok {
		if l.Title != "" {
			p.Title = l.Title
		}
		if l.Body != "" {
			p.Body = l.Body
		}
		if len(l.Data) > 0 {
			p.Data = l.Data
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("delivery: payload: %w", err)
	}
	return b, nil
}

// localized finds the text for lang: the exact tag, else its primary
// language ("fa" for "fa-IR").
func (c Content) localized(lang string) (Localized, bool) {
	if len(c.Languages) == 0 || lang == "" {
		return Localized{}, false
	}
	if l, ok := c.Languages[lang]; ok {
		return l, true
	}
	for i := 0; i < len(lang); i++ {
		if lang[i] == '-' {
			l, ok := c.Languages[lang[:i]]
			return l, ok
		}
	}
	return Localized{}, false
}

// LargestPayload returns the longest payload any recipient can get, so a
// send can be refused up front when it cannot fit.
func (c Content) LargestPayload(msgID int64) (int, error) {
	langs := []string{""}
	for l := range c.Languages {
		langs = append(langs, l)
	}
	longest := 0
	for _, l := range langs {
		p, err := c.Payload(msgID, l)
		if err != nil {
			return 0, err
		}
		longest = max(longest, len(p))
	}
	return longest, nil
}

// RecipientSigner signs a Web Push recipient's tracking fields: the
// signature of (app id, message id, registration id) is appended to dst as
// text that needs no JSON escaping. internal/tracking.Keys implements it;
// it must be safe for concurrent use.
type RecipientSigner interface {
	AppendSig(dst []byte, appID string, msgID int64, registrationID string) []byte
}

// maxTrackedID bounds the registration ids that get tracking fields;
// Herald's own are 24 bytes.
const maxTrackedID = 64

// PayloadFor is Payload with the recipient's tracking fields added (see
// withRecipient): what Herald's service worker receives.
func (c Content) PayloadFor(msgID int64, lang, appID, registrationID string, s RecipientSigner) ([]byte, error) {
	p, err := c.Payload(msgID, lang)
	if err != nil || len(c.Raw) > 0 || s == nil {
		return p, err
	}
	return withRecipient(p, appID, msgID, registrationID, s), nil
}

// withRecipient returns the payload object p with "rid" (the registration
// id) and "sig" (its signature) added, which the service worker sends back
// with its received and clicked reports. It makes one allocation of the
// exact size and leaves p alone, so p can be shared by every recipient.
// It returns p itself when p is not a JSON object, when the id is not one
// that needs no escaping, or when the result would not fit in one push:
// the push then goes out untracked rather than not at all.
func withRecipient(p []byte, appID string, msgID int64, rid string, s RecipientSigner) []byte {
	const (
		ridKey = `,"rid":"`
		sigKey = `","sig":"`
		room   = len(ridKey) + len(sigKey) + len(`"}`) + 32 // 32: a signature's text, with room to spare
	)
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' || !plainID(rid) {
		return p
	}
	body := p[:len(p)-1] // without the closing brace
	out := make([]byte, 0, len(body)+room+len(rid))
	out = append(out, body...)
	if len(body) == 1 { // "{}": no comma before the first field
		out = append(out, ridKey[1:]...)
	} else {
		out = append(out, ridKey...)
	}
	out = append(out, rid...)
	out = append(out, sigKey...)
	out = s.AppendSig(out, appID, msgID, rid)
	out = append(out, '"', '}')
	if len(out) > webpush.MaxPlaintext {
		return p
	}
	return out
}

// plainID reports whether id is short and made of characters JSON needs
// no escaping for (Herald's ids are base64url).
func plainID(id string) bool {
	if id == "" || len(id) > maxTrackedID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
