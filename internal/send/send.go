package send

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heraldpush/herald/internal/delivery"
	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// Submitter stores a message durably with its delivery job (delivery.Engine).
type Submitter interface {
	Submit(ctx context.Context, m store.Message) (store.Message, bool, error)
}

// Service validates sends and submits them.
type Service struct {
	engine   Submitter
	now      func() time.Time
	segments SegmentSource // nil: targets naming segments are refused
}

// New returns a Service submitting to engine.
func New(engine Submitter, now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{engine: engine, now: now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Send validates r and stores it as a message of appID. It returns the
// message and whether it is new: a repeated dedup_id returns the first
// message and sends nothing.
func (s *Service) Send(ctx context.Context, appID string, r Request) (store.Message, bool, error) {
	m, err := s.Prepare(ctx, appID, r)
	if err != nil {
		return store.Message{}, false, err
	}
	msg, created, err := s.engine.Submit(ctx, m)
	if err != nil {
		return store.Message{}, false, fmt.Errorf("send: %w", err)
	}
	return msg, created, nil
}

// Prepare validates r, copies the rules of the segments it names into its
// audience (as of now: a segment edited later does not change the
// message), and builds the message it describes, without storing it.
func (s *Service) Prepare(ctx context.Context, appID string, r Request) (store.Message, error) {
	now := s.now().UTC()
	m, err := s.build(appID, r, now)
	if err != nil {
		return store.Message{}, err
	}
	if err := s.resolveSegments(ctx, appID, r.To, &m.Audience, now); err != nil {
		return store.Message{}, err
	}
	return m, nil
}

// Message validates r and builds the message it describes, without
// storing it. A target naming segments needs Prepare, which looks them up.
func (s *Service) Message(appID string, r Request) (store.Message, error) {
	m, err := s.build(appID, r, s.now().UTC())
	if err == nil && (len(r.To.Segments) > 0 || len(r.To.SegmentsExclude) > 0) {
		return store.Message{}, errors.New("send: a target naming segments needs Prepare")
	}
	return m, err
}

func (s *Service) build(appID string, r Request, now time.Time) (store.Message, error) {
	if err := validateTarget(r.To); err != nil {
		return store.Message{}, err
	}
	m := store.Message{
		AppID: appID,
		Audience: store.Audience{
			RegistrationIDs: r.To.RegistrationIDs, Tags: r.To.Tags, TagsAnd: r.To.TagsAnd,
			TagsNot: r.To.TagsNot, Aliases: r.To.Aliases, Languages: r.To.Languages, Timezones: r.To.Timezones,
		},
		TTL:       DefaultTTL,
		Urgency:   r.Urgency,
		RequestID: r.RequestID,
		DedupID:   r.DedupID,
	}
	if r.To.All && !r.IncludeInactive {
		m.Audience.ActiveSince = now.Add(-ActiveWindow).Truncate(time.Millisecond)
	}
	c, err := content(r)
	if err != nil {
		return store.Message{}, err
	}
	if r.TTL != nil {
		if *r.TTL < 0 || time.Duration(*r.TTL)*time.Second > MaxTTL {
			return store.Message{}, jsonreq.Fieldf("ttl", "must be 0 to %d seconds", int64(MaxTTL/time.Second))
		}
		m.TTL = time.Duration(*r.TTL) * time.Second
	}
	switch webpush.Urgency(r.Urgency) {
	case "", webpush.UrgencyVeryLow, webpush.UrgencyLow, webpush.UrgencyNormal, webpush.UrgencyHigh:
	default:
		return store.Message{}, jsonreq.Fieldf("urgency", "must be very-low, low, normal or high, got %q", r.Urgency)
	}
	if r.Replace != "" {
		topic, err := replaceTopic(r.Replace)
		if err != nil {
			return store.Message{}, err
		}
		m.Topic, c.Tag = topic, r.Replace
	}
	if r.SendAt != nil {
		if r.SendAt.Before(now.Add(-time.Minute)) {
			return store.Message{}, jsonreq.Fieldf("send_at", "%s is in the past", r.SendAt.Format(time.RFC3339))
		}
		if r.SendAt.After(now.Add(366 * 24 * time.Hour)) {
			return store.Message{}, jsonreq.Fieldf("send_at", "is more than a year ahead")
		}
		m.SendAt = r.SendAt.UTC()
	}
	if r.SpreadMinutes < 0 || r.SpreadMinutes > MaxSpreadMinutes {
		return store.Message{}, jsonreq.Fieldf("spread_minutes", "must be 0 to %d", MaxSpreadMinutes)
	}
	m.SpreadSeconds = r.SpreadMinutes * 60
	if r.LocalTime != "" {
		if !localTimeRE.MatchString(r.LocalTime) {
			return store.Message{}, jsonreq.Fieldf("local_time", "must be a time of day HH:MM, 00:00 to 23:59, got %q", clipName(r.LocalTime))
		}
		if r.SpreadMinutes > 0 {
			return store.Message{}, jsonreq.Fieldf("local_time", "cannot be combined with spread_minutes")
		}
		m.LocalTime = r.LocalTime
	}
	if r.DedupID != "" && !dedupRE.MatchString(r.DedupID) {
		return store.Message{}, jsonreq.Fieldf("dedup_id", "must be 1 to 64 letters, digits, _ or -")
	}
	if len(r.RequestID) > MaxIDLen {
		return store.Message{}, jsonreq.Fieldf("request_id", "is longer than %d bytes", MaxIDLen)
	}
	if len(r.CustomArgs) > 0 {
		if len(r.CustomArgs) > 4096 {
			return store.Message{}, jsonreq.Fieldf("custom_args", "is larger than 4096 bytes")
		}
		m.CustomArgs = r.CustomArgs
	}
	if m.Content, err = encodeContent(c); err != nil {
		return store.Message{}, err
	}
	return m, nil
}

// content checks the notification content and the data message.
func content(r Request) (delivery.Content, error) {
	c := delivery.Content{Title: r.Content.Title, Body: r.Content.Body, URL: r.Content.URL,
		Icon: r.Content.Icon, Image: r.Content.Image, Extras: r.Content.Extras, Data: r.Data, TagPrefix: r.TagPrefix}
	if len(c.TagPrefix) > MaxTagPrefixLen {
		return c, jsonreq.Fieldf("tag_prefix", "is longer than %d bytes", MaxTagPrefixLen)
	}
	if c.Title == "" && c.Body == "" && len(c.Data) == 0 {
		return c, jsonreq.Fieldf("content", "needs a title or a body, or the message needs data")
	}
	for _, f := range []struct{ name, v string }{{"content.url", c.URL}, {"content.icon", c.Icon}, {"content.image", c.Image}} {
		if f.v == "" {
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil || !u.IsAbs() && !strings.HasPrefix(f.v, "/") {
			return c, jsonreq.Fieldf(f.name, "must be an absolute URL or a path starting with /")
		}
	}
	for _, f := range []struct{ name, v string }{{"content.title", c.Title}, {"content.body", c.Body}} {
		if !utf8.ValidString(f.v) {
			return c, jsonreq.Fieldf(f.name, "is not valid UTF-8")
		}
	}
	if len(r.Content.Languages) > 0 {
		c.Languages = map[string]delivery.Localized{}
		for lang, l := range r.Content.Languages {
			if lang == "" || len(lang) > 35 {
				return c, jsonreq.Fieldf("content.languages", "has an empty or overlong language code")
			}
			if len(l.Data) > 0 && !json.Valid(l.Data) {
				return c, jsonreq.Fieldf("content.languages."+lang+".data", "is not valid JSON")
			}
			c.Languages[lang] = delivery.Localized{Title: l.Title, Body: l.Body, Data: l.Data}
		}
	}
	if len(c.Data) > 0 && !json.Valid(c.Data) {
		return c, jsonreq.Fieldf("data", "is not valid JSON")
	}
	return c, nil
}

// encodeContent stores the content, refusing it when some recipient's
// payload could not fit in one push.
func encodeContent(c delivery.Content) ([]byte, error) {
	n, err := c.LargestPayload(math.MaxInt64)
	if err != nil {
		return nil, err
	}
	if n > webpush.MaxPlaintext {
		return nil, jsonreq.Fieldf("content", "makes a %d-byte payload; at most %d bytes fit in a push", n, webpush.MaxPlaintext)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("send: encode content: %w", err)
	}
	return b, nil
}

// replaceTopic turns a replace key into an RFC 8030 Topic (≤ 32 base64url
// characters): keys that fit are used as they are, longer ones hashed.
func replaceTopic(key string) (string, error) {
	if len(key) > 128 {
		return "", jsonreq.Fieldf("replace", "is longer than 128 bytes")
	}
	ok := len(key) <= webpush.MaxTopicLen
	for i := 0; ok && i < len(key); i++ {
		c := key[i]
		ok = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
	}
	if ok {
		return key, nil
	}
	return topicHash(key), nil
}
