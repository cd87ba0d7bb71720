package importer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// jsonRow is one JSON line: the body of POST /v1/subscribers, with
// "platform" accepted for "type" and, for Web Push, the PushSubscription
// JSON accepted in "token" as in the CSV. Unknown fields are ignored, so
// richer exports (with ids or dates) import too.
type jsonRow struct {
	Type         string            `json:"type,omitempty"`
	Platform     string            `json:"platform,omitempty"`
	Token        string            `json:"token,omitempty"`
	Subscription *pushSubscription `json:"subscription,omitempty"`
	Tags         []string          `json:"tags"` // nil when absent: keep the stored tags
	Alias        string            `json:"alias,omitempty"`
	Language     string            `json:"language,omitempty"`
	Timezone     string            `json:"timezone,omitempty"`
}

type jsonlSource struct{ lines *lineReader }

func (s *jsonlSource) next() (record, error) { return s.lines.next() }

func (s *jsonlSource) parse(rec record) (entry, error) {
	var j jsonRow
	if err := json.Unmarshal(rec.text, &j); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			if typ.Field == "" {
				return entry{}, errors.New("not a JSON object")
			}
			return entry{}, fmt.Errorf("%s: must be %s, not a JSON %s", typ.Field, jsonKind(typ.Type), typ.Value)
		}
		return entry{}, fmt.Errorf("malformed JSON: %v", err)
	}
	typ := j.Type
	if typ == "" {
		typ = j.Platform
	}
	if typ == "" && j.Subscription != nil {
		typ = string(store.ChannelWebPush)
	}
	r := registry.Registration{
		Channel:  store.Channel(strings.ToLower(typ)),
		Tags:     j.Tags,
		Alias:    j.Alias,
		Language: j.Language,
		Timezone: j.Timezone,
	}
	if r.Channel == store.ChannelWebPush {
		sub := j.Subscription
		if sub == nil && j.Token != "" {
			p, err := parseSubscription(j.Token)
			if err != nil {
				return entry{}, err
			}
			sub = &p
		}
		if sub == nil {
			return entry{}, errors.New("subscription: is required for webpush")
		}
		r.Endpoint, r.P256DH, r.Auth = sub.Endpoint, sub.Keys.P256DH, sub.Keys.Auth
	} else {
		r.Token = j.Token
	}
	return entry{reg: r}, nil
}

// jsonKind names a Go type as JSON calls it, for errors.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.Kind().String()
}

// jsonlWriter writes one JSON object a line, in the shape jsonlSource
// reads: "type", then "token" or "subscription", then the rest.
type jsonlWriter struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

func newJSONLWriter(w io.Writer) *jsonlWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &jsonlWriter{bw: bw, enc: enc}
}

func (j *jsonlWriter) write(s store.Subscriber) error {
	row := jsonRow{Type: string(s.Channel), Tags: s.Tags, Alias: s.Alias, Language: s.Language, Timezone: s.Timezone}
	if row.Tags == nil {
		row.Tags = []string{}
	}
	if s.Channel == store.ChannelWebPush {
		sub := &pushSubscription{Endpoint: s.Token}
		sub.Keys.P256DH, sub.Keys.Auth = webpush.EncodeBase64(s.P256DH), webpush.EncodeBase64(s.Auth)
		row.Subscription = sub
	} else {
		row.Token = s.Token
	}
	return j.enc.Encode(row)
}

func (j *jsonlWriter) flush() error { return j.bw.Flush() }
