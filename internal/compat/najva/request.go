package najva

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/heraldpush/herald/internal/audience"
	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/send"
)

// Limits of the send bodies: the seed's (title, body), Herald's where the
// seed states none.
const (
	MaxTitle    = 100 // characters
	MaxBody     = 200 // characters
	MaxURL      = 2048
	MaxContent  = 1000 // characters of the default SMS text
	MaxTokens   = send.MaxRegistrationIDs
	MaxSegments = audience.MaxSegments // ids in segments_include or segments_exclude (20)
	MaxAccounts = 100                  // ids in one_signal_accounts
)

// The messages of field errors. msgRequired is the seed's own (Persian
// for "This field is required."); the others are Django REST framework's
// English texts, which Najva's clients already know the shape of.
const (
	msgRequired = "این فیلد لازم است."
	msgBlank    = "This field may not be blank."
	msgString   = "Not a valid string."
	msgBool     = "Must be a valid boolean."
	msgUUID     = "Must be a valid UUID."
	msgUnknown  = "Unknown field: Najva's API has no such field."
	msgDatetime = "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)

// endpoint says which send a body is for; each takes its own fields.
type endpoint int

const (
	toAll    endpoint = iota // /api/v1/notifications/
	toTokens                 // /notification/api/v1/notifications/
)

// fieldOrder is the order fields are checked and reported in (the
// seed's table order).
var fieldOrder = map[endpoint][]string{
	toAll: {"api_key", "title", "body", "onclick_action", "url", "content", "icon", "image", "sent_time",
		"segments_include", "segments_exclude", "one_signal_enabled", "one_signal_accounts"},
	toTokens: {"api_key", "subscriber_tokens", "title", "body", "onclick_action", "url", "content", "icon", "image", "sent_time"},
}

// notification is a decoded and checked send body.
type notification struct {
	APIKey      string
	Title, Body string
	Action      string // lower case, one of actions
	URL         string // as sent: a link, number, activity or channel
	Content     string
	Icon, Image string
	SentTime    sentTime

	// /api/v1/notifications/ only.
	SegmentsInclude, SegmentsExclude []int64
	OneSignalEnabled                 bool
	OneSignalAccounts                []int64

	// /notification/api/v1/notifications/ only.
	SubscriberTokens []string
}

// invalid collects field errors in report order; it renders as
// {"result":"Passed data is invalid.","details":{…}}.
type invalid struct {
	order []string
	msgs  map[string][]string
}

func (v *invalid) add(field, format string, args ...any) {
	if v.msgs == nil {
		v.msgs = map[string][]string{}
	}
	if _, ok := v.msgs[field]; !ok {
		v.order = append(v.order, field)
	}
	v.msgs[field] = append(v.msgs[field], fmt.Sprintf(format, args...))
}

// answer is the 400 answer, or nil when nothing was added.
func (v *invalid) answer() error {
	if len(v.order) == 0 {
		return nil
	}
	return &answer{http.StatusBadRequest, v}
}

// MarshalJSON writes the details in report order (a Go map would sort
// them).
func (v *invalid) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"result":"` + resultInvalid + `","details":{`)
	for i, f := range v.order {
		if i > 0 {
			b.WriteByte(',')
		}
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // as every answer: "<" stays "<"
		if err := enc.Encode(f); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteByte(':')
		if err := enc.Encode(v.msgs[f]); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

// fieldsOf reads a body as one JSON object. An empty body is an empty
// object, as Django REST framework reads it (every required field is then
// reported missing); malformed JSON is 400 {"detail":"JSON parse error - …"}.
func fieldsOf(body []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	var raw json.RawMessage
	if err := jsonreq.Unmarshal(body, &raw, jsonreq.Options{}); err != nil {
		return nil, detailAnswer(http.StatusBadRequest, "JSON parse error - "+err.Error())
	}
	if k := kind(raw); k != '{' {
		v := &invalid{}
		v.add("non_field_errors", "Invalid data. Expected a dictionary, but got %s.", jsonType(k))
		return nil, v.answer()
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, detailAnswer(http.StatusBadRequest, "JSON parse error - "+err.Error())
	}
	return fields, nil
}

// decode checks a send body for endpoint e and returns every bad field
// at once.
func decode(body []byte, e endpoint) (*notification, error) {
	fields, err := fieldsOf(body)
	if err != nil {
		return nil, err
	}
	d := &decoder{fields: fields}
	n := &notification{}
	for _, f := range fieldOrder[e] {
		switch f {
		case "api_key":
			if n.APIKey = d.str(f, true, 0); n.APIKey != "" && !uuidRE.MatchString(n.APIKey) {
				d.errs.add(f, msgUUID)
			}
		case "subscriber_tokens":
			n.SubscriberTokens = d.tokens(f)
		case "title":
			n.Title = d.str(f, true, MaxTitle)
		case "body":
			n.Body = d.str(f, true, MaxBody)
		case "onclick_action":
			n.Action = d.action(f)
		case "url":
			n.URL = d.str(f, true, MaxURL)
		case "content":
			n.Content = d.str(f, false, MaxContent)
		case "icon":
			n.Icon = d.str(f, false, MaxURL)
		case "image":
			n.Image = d.str(f, false, MaxURL)
		case "sent_time":
			if s := d.str(f, true, 0); s != "" {
				t, ok := parseSentTime(s)
				if !ok {
					d.errs.add(f, msgDatetime)
				}
				n.SentTime = sentTime{Raw: s, At: t}
			}
		case "segments_include":
			n.SegmentsInclude = d.ids(f, MaxSegments)
		case "segments_exclude":
			n.SegmentsExclude = d.ids(f, MaxSegments)
		case "one_signal_enabled":
			n.OneSignalEnabled = d.boolean(f, true)
		case "one_signal_accounts":
			n.OneSignalAccounts = d.ids(f, MaxAccounts)
		}
	}
	var unknown []string
	for f := range fields {
		if !slices.Contains(fieldOrder[e], f) {
			unknown = append(unknown, f)
		}
	}
	slices.Sort(unknown)
	for _, f := range unknown {
		d.errs.add(f, msgUnknown)
	}
	if d.errs.order == nil && n.URL != "" {
		if msg := checkTarget(n.Action, n.URL); msg != "" {
			d.errs.add("url", "%s", msg)
		}
	}
	if err := d.errs.answer(); err != nil {
		return nil, err
	}
	return n, nil
}

// decoder reads typed fields out of a body's object, collecting errors.
type decoder struct {
	fields map[string]json.RawMessage
	errs   invalid
}

// get returns a field's value; null counts as absent.
func (d *decoder) get(f string) (json.RawMessage, bool) {
	raw, ok := d.fields[f]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil, false
	}
	return raw, true
}

// str reads a string field, trimmed of surrounding spaces as Django REST
// framework does; a required one must not be blank; max counts
// characters (0: no limit).
func (d *decoder) str(f string, required bool, max int) string {
	raw, ok := d.get(f)
	if !ok {
		if required {
			d.errs.add(f, msgRequired)
		}
		return ""
	}
	var s string
	if kind(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		d.errs.add(f, msgString)
		return ""
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		d.errs.add(f, msgBlank)
	case !utf8.ValidString(s):
		d.errs.add(f, msgString)
		return ""
	case max > 0 && utf8.RuneCountInString(s) > max:
		d.errs.add(f, "Ensure this field has no more than %d characters.", max)
	}
	return s
}

// boolean reads a boolean as Django REST framework does: true and false,
// and their usual spellings as strings and numbers.
func (d *decoder) boolean(f string, required bool) bool {
	raw, ok := d.get(f)
	if !ok {
		if required {
			d.errs.add(f, msgRequired)
		}
		return false
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		if x == 0 || x == 1 {
			return x == 1
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1", "yes", "on":
			return true
		case "false", "0", "no", "off":
			return false
		}
	}
	d.errs.add(f, msgBool)
	return false
}

// list reads an array field's elements; absent is nil.
func (d *decoder) list(f string, max int) ([]json.RawMessage, bool) {
	raw, ok := d.get(f)
	if !ok {
		return nil, true
	}
	if k := kind(raw); k != '[' {
		d.errs.add(f, "Expected a list of items but got type %q.", jsonType(k))
		return nil, false
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		d.errs.add(f, "Expected a list of items.")
		return nil, false
	}
	if len(items) > max {
		d.errs.add(f, "Ensure this field has no more than %d elements.", max)
		return nil, false
	}
	return items, true
}

// ids reads a list of positive integers (numbers, or digits in strings as
// Django REST framework accepts them).
func (d *decoder) ids(f string, max int) []int64 {
	items, ok := d.list(f, max)
	if !ok || items == nil {
		return nil
	}
	out := make([]int64, 0, len(items))
	for i, it := range items {
		var n json.Number
		s := strings.Trim(string(bytes.TrimSpace(it)), `"`)
		if err := json.Unmarshal([]byte(s), &n); err == nil {
			if v, err := n.Int64(); err == nil && v > 0 {
				out = append(out, v)
				continue
			}
		}
		d.errs.add(f, "Item %d: a valid positive integer is required.", i)
		return nil
	}
	return out
}

// tokens reads subscriber_tokens: required, strings, at most MaxTokens;
// an empty list is allowed (it sends to nobody).
func (d *decoder) tokens(f string) []string {
	if _, ok := d.get(f); !ok {
		d.errs.add(f, msgRequired)
		return nil
	}
	items, ok := d.list(f, MaxTokens)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		var s string
		if kind(it) != '"' || json.Unmarshal(it, &s) != nil {
			d.errs.add(f, "Item %d: %s", i, msgString)
			return nil
		}
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			d.errs.add(f, "Item %d: %s", i, msgBlank)
			return nil
		case len(s) > registry.MaxTokenLen:
			d.errs.add(f, "Item %d: Ensure this field has no more than %d characters.", i, registry.MaxTokenLen)
			return nil
		}
		out = append(out, s)
	}
	return out
}

// action reads onclick_action: any case of one of actions; absent is
// open-link.
func (d *decoder) action(f string) string {
	s := d.str(f, false, 0)
	if s == "" {
		return actionOpenLink
	}
	a := strings.ToLower(s)
	if !slices.Contains(actions, a) {
		d.errs.add(f, "%q is not a valid choice.", s)
		return actionOpenLink
	}
	return a
}

// kind is the first byte of a JSON value: '{', '[', '"', 't', 'f', 'n'
// or a digit or '-'.
func kind(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// jsonType names a JSON value's type the way Python would (the seed's
// service is Django REST framework).
func jsonType(k byte) string {
	switch k {
	case '{':
		return "dict"
	case '[':
		return "list"
	case '"':
		return "str"
	case 't', 'f':
		return "bool"
	case 'n':
		return "NoneType"
	}
	return "int"
}
