package registry

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// Limits on registration fields. They follow EngageLab's device API where it
// states one, with room to spare.
const (
	MaxTags        = 100  // tags per device
	MaxTagLen      = 128  // bytes per tag
	MaxAliasLen    = 128  // bytes
	MaxEndpointLen = 2048 // bytes; real endpoints are under 600
	MaxTokenLen    = 4096 // bytes; FCM tokens are about 160
)

// FieldError is a validation failure of one field.
type FieldError = jsonreq.FieldError

func fieldErr(field, format string, args ...any) *FieldError {
	return jsonreq.Fieldf(field, format, args...)
}

var (
	languageRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
	hexRE      = regexp.MustCompile(`^[0-9a-fA-F]+$`)
)

// Registration is what a browser or app sends to register.
type Registration struct {
	Channel store.Channel
	// Web Push
	Endpoint string
	P256DH   string // base64url, as PushSubscription.toJSON() gives it
	Auth     string // base64url
	// FCM / APNs
	Token string

	Tags     []string // nil leaves an existing device's tags as they are
	Alias    string
	Language string
	Timezone string
}

// validate checks r and returns the subscriber row it describes.
func (s *Service) validate(r Registration) (store.Subscriber, error) {
	sub := store.Subscriber{Channel: r.Channel}
	switch r.Channel {
	case store.ChannelWebPush:
		if r.Endpoint == "" {
			return sub, fieldErr("subscription.endpoint", "is required")
		}
		if len(r.Endpoint) > MaxEndpointLen {
			return sub, fieldErr("subscription.endpoint", "is longer than %d bytes", MaxEndpointLen)
		}
		if err := s.egress.Check(r.Endpoint); err != nil {
			return sub, fieldErr("subscription.endpoint", "%v", err)
		}
		if r.P256DH == "" {
			return sub, fieldErr("subscription.keys.p256dh", "is required")
		}
		p, err := webpush.DecodeBase64(r.P256DH)
		if err != nil {
			return sub, fieldErr("subscription.keys.p256dh", "is not base64url")
		}
		if _, err := webpush.ParseP256DH(p); err != nil {
			return sub, fieldErr("subscription.keys.p256dh", "not a P-256 point")
		}
		if r.Auth == "" {
			return sub, fieldErr("subscription.keys.auth", "is required")
		}
		a, err := webpush.DecodeBase64(r.Auth)
		if err != nil {
			return sub, fieldErr("subscription.keys.auth", "is not base64url")
		}
		if len(a) != webpush.AuthLen {
			return sub, fieldErr("subscription.keys.auth", "must be %d bytes, got %d", webpush.AuthLen, len(a))
		}
		sub.Token, sub.P256DH, sub.Auth = r.Endpoint, p, a
	case store.ChannelFCM:
		if err := checkToken(r.Token); err != nil {
			return sub, err
		}
		sub.Token = r.Token
	case store.ChannelAPNs:
		if err := checkToken(r.Token); err != nil {
			return sub, err
		}
		if !hexRE.MatchString(r.Token) || len(r.Token)%2 != 0 || len(r.Token) < 64 || len(r.Token) > 200 {
			return sub, fieldErr("token", "an APNs device token is 64 to 200 hex digits")
		}
		sub.Token = strings.ToLower(r.Token)
	case "":
		return sub, fieldErr("type", "is required: webpush, fcm or apns")
	default:
		return sub, fieldErr("type", "must be webpush, fcm or apns, got %q", r.Channel)
	}
	if r.Tags != nil {
		tags, err := cleanTags(r.Tags, "tags")
		if err != nil {
			return sub, err
		}
		sub.Tags = tags
	}
	if err := checkAlias(r.Alias, "alias"); err != nil {
		return sub, err
	}
	if err := checkLanguage(r.Language, "language"); err != nil {
		return sub, err
	}
	if err := checkTimezone(r.Timezone, "timezone"); err != nil {
		return sub, err
	}
	sub.Alias, sub.Language, sub.Timezone = r.Alias, r.Language, r.Timezone
	return sub, nil
}

func checkToken(t string) error {
	switch {
	case t == "":
		return fieldErr("token", "is required")
	case len(t) > MaxTokenLen:
		return fieldErr("token", "is longer than %d bytes", MaxTokenLen)
	case strings.IndexFunc(t, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		return fieldErr("token", "must not contain spaces or control characters")
	}
	return nil
}

// cleanTags validates tags and returns them sorted and unique.
func cleanTags(tags []string, field string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, fieldErr(field, "has %d tags, at most %d are allowed", len(tags), MaxTags)
	}
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkLabel(t, f, MaxTagLen); err != nil {
			return nil, err
		}
		if t == "" {
			return nil, fieldErr(f, "must not be empty")
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func checkAlias(a, field string) error { return checkLabel(a, field, MaxAliasLen) }

func checkLabel(s, field string, max int) error {
	switch {
	case len(s) > max:
		return fieldErr(field, "is longer than %d bytes", max)
	case !utf8.ValidString(s):
		return fieldErr(field, "is not valid UTF-8")
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fieldErr(field, "must not contain control characters")
	case s != strings.TrimSpace(s):
		return fieldErr(field, "must not start or end with spaces")
	}
	return nil
}

func checkLanguage(l, field string) error {
	if l != "" && (len(l) > 35 || !languageRE.MatchString(l)) {
		return fieldErr(field, "%q is not a language tag such as en, fa or zh-Hans", l)
	}
	return nil
}

func checkTimezone(tz, field string) error {
	if tz == "" {
		return nil
	}
	if tz == "Local" || len(tz) > 64 {
		return fieldErr(field, "%q is not an IANA time zone such as Asia/Tehran", tz)
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return fieldErr(field, "%q is not an IANA time zone such as Asia/Tehran", tz)
	}
	return nil
}
