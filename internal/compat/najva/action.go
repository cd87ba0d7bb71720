package najva

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The onclick_action kinds (seed 004), lower case.
const (
	actionOpenLink      = "open-link"
	actionOpenSMS       = "open-sms"
	actionOpenCall      = "open-call"
	actionOpenApp       = "open-app"
	actionOpenActivity  = "open-activity"
	actionOpenTelegram  = "open-telegram-channel"
	actionJoinTelegram  = "join-telegram-channel"
	telegramLinkPrefix  = "https://t.me/"
	appStartPath        = "/" // open-app and open-activity open the site's start page on the web
	maxTelegramNameSize = 64
)

var actions = []string{actionOpenLink, actionOpenSMS, actionOpenCall, actionOpenApp,
	actionOpenActivity, actionOpenTelegram, actionJoinTelegram}

var (
	uuidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)
	phoneRE    = regexp.MustCompile(`^\+?[0-9][0-9 ()-]{1,30}$`)
	telegramRE = regexp.MustCompile(`^@?[A-Za-z0-9_]{1,64}$`)
	// sentTimeRE is what Django's parse_datetime takes: a date, T or a
	// space, hours and minutes, optional seconds and fraction, optional
	// zone.
	sentTimeRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$`)
)

// checkTarget checks url against what action needs of it and returns
// the problem, or "". open-link URLs are checked by send.
func checkTarget(action, u string) string {
	switch action {
	case actionOpenSMS, actionOpenCall:
		if !phoneRE.MatchString(u) {
			return "Enter a valid phone number: " + action + " dials the number in url."
		}
	case actionOpenTelegram, actionJoinTelegram:
		if !telegramRE.MatchString(u) && !strings.HasPrefix(u, telegramLinkPrefix) && !strings.HasPrefix(u, "tg://") {
			return "Enter a Telegram channel id (@name) or link (https://t.me/…): " + action + " opens it."
		}
	}
	return ""
}

// clickURL is the notification's click target for action: a link opens
// itself, a number becomes sms: or tel:, a channel a t.me link; an app or
// an activity opens the site's start page on the web (the native
// fields ride in extras, see extras).
func clickURL(action, u, content string) string {
	switch action {
	case actionOpenSMS:
		s := "sms:" + strings.NewReplacer(" ", "", "(", "", ")", "", "-", "").Replace(u)
		if content != "" {
			s += "?body=" + url.QueryEscape(content)
		}
		return s
	case actionOpenCall:
		return "tel:" + strings.NewReplacer(" ", "", "(", "", ")", "", "-", "").Replace(u)
	case actionOpenApp, actionOpenActivity:
		return appStartPath
	case actionOpenTelegram, actionJoinTelegram:
		if telegramRE.MatchString(u) {
			return telegramLinkPrefix + strings.TrimPrefix(u, "@")
		}
	}
	return u
}

// extras are the Najva fields a native app needs to act on a click:
// every action but open-link carries its kind, url and (for open-sms) the
// SMS text.
func extras(action, u, content string) map[string]any {
	if action == actionOpenLink {
		return nil
	}
	e := map[string]any{"onclick_action": action, "url": u}
	if action == actionOpenSMS && content != "" {
		e["content"] = content
	}
	return e
}

// sentTime is sent_time as sent and as read.
type sentTime struct {
	Raw string
	At  time.Time
}

// parseSentTime reads sent_time: "2018-12-05T13:00:00" as in the seed,
// read as UTC, or with an explicit zone, in any form Django's
// parse_datetime takes.
func parseSentTime(s string) (time.Time, bool) {
	m := sentTimeRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	sec := m[3]
	if sec == "" {
		sec = ":00"
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05", m[1]+"T"+m[2]+sec, time.UTC)
	if err != nil {
		return time.Time{}, false
	}
	if frac := m[4]; frac != "" {
		ns, _ := strconv.Atoi((frac + "000000000")[:9])
		t = t.Add(time.Duration(ns))
	}
	if z := m[5]; z != "" && z != "Z" {
		z = strings.ReplaceAll(z, ":", "")
		h, _ := strconv.Atoi(z[1:3])
		mins := 0
		if len(z) == 5 {
			mins, _ = strconv.Atoi(z[3:5])
		}
		if h > 23 || mins > 59 {
			return time.Time{}, false
		}
		off := time.Duration(h)*time.Hour + time.Duration(mins)*time.Minute
		if z[0] == '+' {
			off = -off
		}
		t = t.Add(off)
	}
	return t.UTC(), true
}
