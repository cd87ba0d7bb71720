package engagelab

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/heraldpush/herald/internal/send"
)

// TagPrefix starts the notification tag of every message sent through
// /v4/push: "el-<msg_id>". override_msg_id names that id, so a later
// message takes the same tag (and RFC 8030 Topic) and replaces it.
const TagPrefix = "el-"

// toSend translates a checked request into Herald's send request. replace
// is the tag of the message override_msg_id names ("" when none).
func (p *pushRequest) toSend(replace string) (send.Request, error) {
	r := send.Request{
		To: &send.Target{All: p.All, RegistrationIDs: p.RegistrationIDs, Tags: p.Tags,
			TagsAnd: p.TagsAnd, TagsNot: p.TagsNot, Aliases: p.Aliases},
		TTL:           p.TTL,
		Replace:       replace,
		SpreadMinutes: p.SpreadMinutes,
		DedupID:       p.CID,
		CustomArgs:    p.CustomArgs,
		TagPrefix:     TagPrefix,
	}
	if p.RequestID != nil {
		r.RequestID = *p.RequestID
	}
	if n := p.Notification; n != nil {
		r.Content = send.Content{Title: n.Title, Body: n.Alert, URL: n.URL, Icon: n.Icon, Image: n.Image, Extras: n.Extras}
	}
	if p.Message != nil {
		data, err := p.Message.data("", "")
		if err != nil {
			return r, err
		}
		r.Data = data
	}
	for code, l := range p.Languages {
		loc := send.Localized{}
		if p.Notification != nil {
			loc.Title, loc.Body = l.Title, l.Content
		}
		if p.Message != nil {
			data, err := p.Message.data(l.Title, l.Content)
			if err != nil {
				return r, err
			}
			loc.Data = data
		}
		if r.Content.Languages == nil {
			r.Content.Languages = map[string]send.Localized{}
		}
		r.Content.Languages[code] = loc
		for _, alias := range languageAliases[code] {
			if _, given := p.Languages[alias]; !given {
				r.Content.Languages[alias] = loc
			}
		}
	}
	return r, nil
}

// data is the data message a page receives for body.message: its own
// fields, with title and msg_content replaced when not empty (one
// language's multi_language entry).
func (m *message) data(title, content string) (json.RawMessage, error) {
	d := map[string]any{"msg_content": m.Content}
	if content != "" {
		d["msg_content"] = content
	}
	if title == "" {
		title = m.Title
	}
	if title != "" {
		d["title"] = title
	}
	if m.ContentType != "" {
		d["content_type"] = m.ContentType
	}
	if len(m.Extras) > 0 {
		d["extras"] = maps.Clone(m.Extras)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("engagelab: encode message: %w", err)
	}
	return b, nil
}
