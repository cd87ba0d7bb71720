package delivery

import (
	"encoding/json"
	"fmt"
	"strconv"
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
