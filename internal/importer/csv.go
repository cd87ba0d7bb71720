package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// csvHeader is Herald's plain CSV header, a fixed surface: tools outside
// Herald write and read it.
var csvHeader = []string{"token", "platform", "tags", "alias", "language"}

// tagSep separates tags in a CSV cell. Tags may not contain control
// characters, but they may contain commas, so the CSV cell uses "|".
const tagSep = "|"

// heraldCSV reads Herald's plain CSV. Columns are found by name, so their
// order does not matter; token and platform are required, tags, alias,
// language and timezone optional.
type heraldCSV struct {
	*csvReader
	token, platform, tags, alias, language, timezone int // -1 when absent
}

func newHeraldCSV(br *bufio.Reader) (*heraldCSV, error) {
	r, header, err := newCSVReader(br)
	if err != nil {
		return nil, err
	}
	s := &heraldCSV{csvReader: r, token: -1, platform: -1, tags: -1, alias: -1, language: -1, timezone: -1}
	for i, h := range header {
		var dst *int
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "token":
			dst = &s.token
		case "platform":
			dst = &s.platform
		case "tags":
			dst = &s.tags
		case "alias":
			dst = &s.alias
		case "language":
			dst = &s.language
		case "timezone":
			dst = &s.timezone
		default:
			return nil, fmt.Errorf("CSV header: unknown column %q; want %s[,timezone]", h, strings.Join(csvHeader, ","))
		}
		if *dst >= 0 {
			return nil, fmt.Errorf("CSV header: column %q appears twice", h)
		}
		*dst = i
	}
	if s.token < 0 || s.platform < 0 {
		return nil, fmt.Errorf("CSV header: want the columns %s", strings.Join(csvHeader, ","))
	}
	return s, nil
}

func (s *heraldCSV) parse(rec record) (entry, error) {
	cell := func(i int) string {
		if i < 0 {
			return ""
		}
		return strings.TrimSpace(rec.fields[i])
	}
	r := registry.Registration{
		Channel:  store.Channel(strings.ToLower(cell(s.platform))),
		Alias:    cell(s.alias),
		Language: cell(s.language),
		Timezone: cell(s.timezone),
		Tags:     splitTags(cell(s.tags)),
	}
	token := cell(s.token)
	if r.Channel == store.ChannelWebPush {
		sub, err := parseSubscription(token)
		if err != nil {
			return entry{}, err
		}
		r.Endpoint, r.P256DH, r.Auth = sub.Endpoint, sub.Keys.P256DH, sub.Keys.Auth
	} else {
		r.Token = token
	}
	return entry{reg: r}, nil
}

// csvField renames a registry field name to the CSV's column.
func csvField(field string) string {
	switch {
	case field == "type":
		return "platform"
	case strings.HasPrefix(field, "subscription."):
		return "token (" + strings.TrimPrefix(field, "subscription.") + ")"
	}
	return field
}

// splitTags splits a tags cell; an empty cell is nil (keep the stored
// tags), and empty parts ("a||b") are dropped.
func splitTags(cell string) []string {
	if cell == "" {
		return nil
	}
	parts := strings.Split(cell, tagSep)
	tags := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			tags = append(tags, p)
		}
	}
	if len(tags) == 0 {
		return nil
	}
	return tags
}

// pushSubscription is PushSubscription.toJSON() as browsers give it.
type pushSubscription struct {
	Endpoint       string `json:"endpoint"`
	ExpirationTime *int64 `json:"expirationTime,omitempty"`
	Keys           struct {
		P256DH string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// parseSubscription reads the PushSubscription JSON a Web Push row carries
// in its token.
func parseSubscription(token string) (pushSubscription, error) {
	var sub pushSubscription
	if !strings.HasPrefix(token, "{") {
		return sub, errors.New(`token: a webpush row's token must be the PushSubscription JSON {"endpoint":…,"keys":{"p256dh":…,"auth":…}}`)
	}
	if err := json.Unmarshal([]byte(token), &sub); err != nil {
		return sub, fmt.Errorf("token: the PushSubscription JSON is malformed: %v", err)
	}
	return sub, nil
}

// csvWriter writes Herald's plain CSV.
type csvWriter struct {
	w   *csv.Writer
	buf bytes.Buffer // reused for a Web Push token
}

func newCSVWriter(w io.Writer) (*csvWriter, error) {
	c := &csvWriter{w: csv.NewWriter(w)}
	if err := c.w.Write(csvHeader); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *csvWriter) write(s store.Subscriber) error {
	token := s.Token
	if s.Channel == store.ChannelWebPush {
		var sub pushSubscription
		sub.Endpoint = s.Token
		sub.Keys.P256DH, sub.Keys.Auth = webpush.EncodeBase64(s.P256DH), webpush.EncodeBase64(s.Auth)
		c.buf.Reset()
		enc := json.NewEncoder(&c.buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(sub); err != nil {
			return err
		}
		token = strings.TrimSuffix(c.buf.String(), "\n")
	}
	return c.w.Write([]string{token, string(s.Channel), strings.Join(s.Tags, tagSep), s.Alias, s.Language})
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	return c.w.Error()
}
