package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

// OneSignal's subscriber export (POST /players/csv_export, "Export
// subscriptions CSV", documentation.onesignal.com/reference/csv-export) is
// a CSV whose default columns are id, identifier, session_count, language,
// timezone, game_version, device_os, device_type, device_model, ad_id,
// tags, last_active, playtime, amount_spent, created_at,
// invalid_identifier and badge_count; extra_fields adds external_user_id,
// notification_types, location, country, rooted, ip, web_auth, web_p256
// (and timezone_id in newer exports). What Herald maps:
//
//	identifier             → token (FCM / APNs token, or the Web Push endpoint)
//	device_type            → platform: 0 (iOS) apns, 1 (Android) fcm,
//	                         5 (Chrome), 8 (Firefox), 7 (Safari, when its
//	                         identifier is an https endpoint) webpush; the
//	                         newer names iOSPush, AndroidPush, ChromePush,
//	                         FirefoxPush, SafariPush likewise
//	web_p256, web_auth     → the Web Push keys (present only when the export
//	                         asked for them as extra_fields)
//	tags (a JSON object)   → tags: key:value, or just key when the value is
//	                         "", "1" or "true"
//	external_user_id       → alias (external_id in newer exports)
//	language               → language
//	timezone_id            → timezone (the numeric timezone, an offset, is
//	                         not a zone and is ignored)
//	created_at, last_active → when a new row was created and last active
//
// Rows that are not push subscriptions (email 11, SMS 14) and unsubscribed
// rows (invalid_identifier t) are skipped and counted, not reported one by
// one. Web Push rows without web_p256/web_auth cannot be used (Herald must
// encrypt to the browser's key) and are bad rows saying so; so are the
// platforms Herald does not deliver to (Amazon, Windows, Huawei, macOS,
// legacy Safari).
type oneSignal struct {
	*csvReader
	identifier, deviceType, language, tags, alias, timezone int
	createdAt, lastActive, invalid, webAuth, webP256        int
}

func newOneSignal(br *bufio.Reader) (*oneSignal, error) {
	r, header, err := newCSVReader(br)
	if err != nil {
		return nil, err
	}
	cols := columns(header)
	col := func(names ...string) int {
		for _, n := range names {
			if i, ok := cols[n]; ok {
				return i
			}
		}
		return -1
	}
	s := &oneSignal{csvReader: r,
		identifier: col("identifier", "token"), deviceType: col("device_type"),
		language: col("language"), tags: col("tags"),
		alias: col("external_user_id", "external_id"), timezone: col("timezone_id"),
		createdAt: col("created_at"), lastActive: col("last_active"),
		invalid: col("invalid_identifier"), webAuth: col("web_auth"), webP256: col("web_p256"),
	}
	if s.identifier < 0 || s.deviceType < 0 {
		return nil, errors.New("OneSignal CSV header: want at least the columns identifier and device_type")
	}
	return s, nil
}

// oneSignalPlatform maps OneSignal's device_type, numeric or named, to a
// channel; "" with a reason when Herald cannot use it, and skip true for
// rows that are not push subscriptions at all.
func oneSignalPlatform(dt string) (ch store.Channel, reason string, skip bool) {
	switch strings.ToLower(dt) {
	case "0", "iospush":
		return store.ChannelAPNs, "", false
	case "1", "androidpush":
		return store.ChannelFCM, "", false
	case "5", "8", "7", "chromepush", "firefoxpush", "safaripush":
		return store.ChannelWebPush, "", false
	case "11", "email":
		return "", "email subscription", true
	case "14", "sms":
		return "", "SMS subscription", true
	case "2", "fireospush":
		return "", "device_type " + dt + " (Amazon ADM) has no Herald channel", false
	case "13", "huaweipush":
		return "", "device_type " + dt + " (Huawei HMS) has no Herald channel", false
	case "3", "6", "windowspush":
		return "", "device_type " + dt + " (Windows) has no Herald channel", false
	case "9", "macospush":
		return "", "device_type " + dt + " (macOS) has no Herald channel", false
	case "safarilegacypush":
		return "", "device_type " + dt + " (legacy Safari push) is not Web Push", false
	}
	return "", fmt.Sprintf("device_type %q is not one Herald delivers to (0 iOS, 1 Android, 5/7/8 web push)", dt), false
}

func (s *oneSignal) parse(rec record) (entry, error) {
	cell := func(i int) string {
		if i < 0 {
			return ""
		}
		return strings.TrimSpace(rec.fields[i])
	}
	if v := strings.ToLower(cell(s.invalid)); v == "t" || v == "true" || v == "1" {
		return entry{skip: "unsubscribed (invalid_identifier)"}, nil
	}
	ch, reason, skip := oneSignalPlatform(cell(s.deviceType))
	if skip {
		return entry{skip: reason}, nil
	}
	if ch == "" {
		return entry{}, errors.New(reason)
	}
	r := registry.Registration{Channel: ch, Alias: cell(s.alias), Language: cell(s.language), Timezone: cell(s.timezone)}
	id := cell(s.identifier)
	if ch == store.ChannelWebPush {
		if !strings.HasPrefix(id, "https://") {
			return entry{}, errors.New("identifier: this web push row's identifier is not a push endpoint URL (legacy Safari push is not Web Push)")
		}
		r.Endpoint, r.P256DH, r.Auth = id, cell(s.webP256), cell(s.webAuth)
		if r.P256DH == "" || r.Auth == "" {
			return entry{}, errors.New("web push row without keys: OneSignal exports carry them only with extra_fields web_p256 and web_auth, and Herald cannot encrypt without them")
		}
	} else {
		r.Token = id
	}
	tags, err := oneSignalTags(cell(s.tags))
	if err != nil {
		return entry{}, err
	}
	r.Tags = tags
	return entry{reg: r, createdAt: parseTime(cell(s.createdAt)), lastActive: parseTime(cell(s.lastActive))}, nil
}

// oneSignalTags turns OneSignal's data tags, a JSON object, into labels.
func oneSignalTags(cell string) ([]string, error) {
	if cell == "" || cell == "{}" || cell == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(cell), &m); err != nil {
		return nil, fmt.Errorf("tags: not a JSON object: %v", err)
	}
	tags := make([]string, 0, len(m))
	for k, raw := range m {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			v = string(bytes.TrimSpace(raw)) // a number or a boolean
		}
		switch v {
		case "", "1", "true", "null":
			tags = append(tags, k)
		default:
			tags = append(tags, k+":"+v)
		}
	}
	slices.Sort(tags)
	return tags, nil
}

// parseTime reads the date forms seen in exports: RFC 3339, "2006-01-02
// 15:04:05" (UTC, optionally with a zone) and Unix seconds. Anything else is
// the zero time: a date is a nicety, not a reason to drop a device.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0).UTC()
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999 -0700", "2006-01-02 15:04:05.999999999 MST", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
