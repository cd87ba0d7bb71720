package fcm

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// payload is the JSON Herald's service worker receives (see
// delivery.Content.Payload): the same content, shaped for a browser.
type payload struct {
	ID     string                     `json:"id"`
	Title  string                     `json:"title"`
	Body   string                     `json:"body"`
	URL    string                     `json:"url"`
	Icon   string                     `json:"icon"`
	Image  string                     `json:"image"`
	Tag    string                     `json:"tag"`
	Extras map[string]json.RawMessage `json:"extras"`
	Data   json.RawMessage            `json:"data"`
}

// MessageFromPayload turns the JSON payload Herald builds for its service
// worker ({"id","title","body","url","icon","image","tag","extras","data"})
// into an FCM message, so one stored payload serves every channel. Token,
// TTL, Priority and CollapseKey are left for the caller.
//
// FCM data values are strings, so: extras become data entries, strings as
// they are and other values as JSON; a "data" object is flattened the same
// way (its keys win over extras'), and any other "data" value is sent as
// JSON under "data"; "id" is sent as data["id"]. Keys FCM refuses (see
// ReservedDataKey) are dropped rather than failing the message. A payload
// with no title, body or image is a data-only message.
func MessageFromPayload(b []byte) (Message, error) {
	var p payload
	if err := json.Unmarshal(b, &p); err != nil {
		return Message{}, fmt.Errorf("%w: payload is not a JSON object: %w", ErrInvalidMessage, err)
	}
	m := Message{Title: p.Title, Body: p.Body, URL: p.URL, Icon: p.Icon, Image: p.Image, Tag: p.Tag}
	data := map[string]string{}
	put := func(k string, v json.RawMessage) {
		if ReservedDataKey(k) {
			return
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			data[k] = s
			return
		}
		data[k] = string(compact(v))
	}
	for k, v := range p.Extras {
		put(k, v)
	}
	if d := bytes.TrimSpace(p.Data); len(d) > 0 && !bytes.Equal(d, []byte("null")) {
		var obj map[string]json.RawMessage
		if d[0] == '{' && json.Unmarshal(d, &obj) == nil {
			for k, v := range obj {
				put(k, v)
			}
		} else {
			put("data", d)
		}
	}
	if p.ID != "" {
		data["id"] = p.ID
	}
	if len(data) > 0 {
		m.Data = data
	}
	return m, nil
}

func compact(v json.RawMessage) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil {
		return v
	}
	return buf.Bytes()
}
