package engagelab

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/heraldpush/herald/internal/send"
)

// languages are the contract's multi_language codes.
var languages = []string{"en", "ar", "zh-Hans", "zh-Hant", "cs", "da", "nl", "fr", "de", "hi", "it",
	"ja", "ko", "ms", "ru", "es", "th", "vi", "id", "no", "sv", "pl", "tr", "he", "pt", "ro", "hu", "fi", "el"}

// languageAliases are the tags browsers report for a contract code that
// is not a prefix of them (navigator.language is "zh-CN", not "zh-Hans").
// A device's language matches exactly, then by its primary subtag.
var languageAliases = map[string][]string{
	"zh-Hans": {"zh", "zh-CN", "zh-SG", "zh-Hans-CN", "zh-Hans-SG"},
	"zh-Hant": {"zh-TW", "zh-HK", "zh-MO", "zh-Hant-TW", "zh-Hant-HK", "zh-Hant-MO"},
	"no":      {"nb", "nn"},
	"he":      {"iw"},
	"id":      {"in"},
}

// decodeOptions reads body.options.
func (p *pushRequest) decodeOptions(raw json.RawMessage) *Error {
	o, err := asObject(raw, "body.options")
	if err != nil {
		return err
	}
	if err := o.only("time_to_live", "override_msg_id", "big_push_duration", "multi_language",
		"third_party_channel", "plan_id", "cid"); err != nil {
		return err
	}
	if raw, ok := o.get("time_to_live"); ok {
		n, err := integer(raw, "body.options.time_to_live")
		if err != nil {
			return err
		}
		if max := int64(send.MaxTTL / time.Second); n < 0 || n > max {
			return invalid("body.options.time_to_live", "must be 0 to %d seconds, got %d", max, n)
		}
		p.TTL = &n
	}
	if raw, ok := o.get("override_msg_id"); ok {
		n, err := integer(raw, "body.options.override_msg_id")
		if err != nil {
			return err
		}
		if n <= 0 {
			return invalid("body.options.override_msg_id", "must be a msg_id this API returned, got %d", n)
		}
		p.OverrideMsgID = n
	}
	if raw, ok := o.get("big_push_duration"); ok {
		n, err := integer(raw, "body.options.big_push_duration")
		if err != nil {
			return err
		}
		switch {
		case n < 0:
			return invalid("body.options.big_push_duration", "must be 0 to %d minutes, got %d", MaxSpreadMinutes, n)
		case n > MaxSpreadMinutes:
			return fail(CodeSpreadTooLong, "body.options.big_push_duration: must be at most %d minutes, got %d", MaxSpreadMinutes, n)
		}
		p.SpreadMinutes = int(n)
	}
	if raw, ok := o.get("multi_language"); ok {
		if err := p.decodeLanguages(raw); err != nil {
			return err
		}
	}
	if raw, ok := o.fields["third_party_channel"]; ok {
		if err := p.decodeChannel(raw); err != nil {
			return err
		}
	}
	if p.PlanID, err = o.str("plan_id"); err != nil {
		return err
	}
	if len(p.PlanID) > MaxIDLen {
		return fail(CodeWrongType, "body.options.plan_id: is %d bytes long, at most %d are allowed", len(p.PlanID), MaxIDLen)
	}
	if p.CID, err = o.str("cid"); err != nil {
		return err
	}
	switch {
	case len(p.CID) > MaxIDLen:
		return fail(CodeWrongType, "body.options.cid: is %d characters long, at most %d are allowed", len(p.CID), MaxIDLen)
	case p.CID != "" && !cidRE.MatchString(p.CID):
		return invalid("body.options.cid", "may hold only letters, digits, _ and -")
	}
	return nil
}

// decodeLanguages reads options.multi_language: code → {content, title}.
func (p *pushRequest) decodeLanguages(raw json.RawMessage) *Error {
	ml, err := asObject(raw, "body.options.multi_language")
	if err != nil {
		return err
	}
	codes := make([]string, 0, len(ml.fields))
	for code := range ml.fields {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		path := child(ml.path, code)
		if !slices.Contains(languages, code) {
			return invalid(path, "%q is not one of the supported language codes (en, ar, zh-Hans, zh-Hant, …)", code)
		}
		raw, ok := ml.get(code)
		if !ok {
			continue
		}
		l, err := asObject(raw, path)
		if err != nil {
			return err
		}
		if err := l.only("content", "title"); err != nil {
			return err
		}
		var lang language
		if lang.Content, err = l.str("content"); err != nil {
			return err
		}
		if lang.Title, err = l.str("title"); err != nil {
			return err
		}
		if lang == (language{}) {
			continue
		}
		if p.Languages == nil {
			p.Languages = map[string]language{}
		}
		p.Languages[code] = lang
	}
	return nil
}

// decodeChannel reads options.third_party_channel: if given it must be
// {"w3push":{"distribution":"<non-empty>"}}; anything else is 27009.
func (p *pushRequest) decodeChannel(raw json.RawMessage) *Error {
	const path = "body.options.third_party_channel"
	malformed := fail(CodeChannelMalformed, `%s: must be {"w3push":{"distribution":"<non-empty string>"}}`, path)
	tpc, err := asObject(raw, path)
	if err != nil || tpc.only("w3push") != nil {
		return malformed
	}
	raw, ok := tpc.get("w3push")
	if !ok {
		return malformed
	}
	w3, err := asObject(raw, path+".w3push")
	if err != nil || w3.only("distribution") != nil {
		return malformed
	}
	raw, ok = w3.get("distribution")
	if !ok {
		return malformed
	}
	d, err := asString(raw, path+".w3push.distribution")
	if err != nil || d == "" {
		return malformed
	}
	p.Distribution = d
	return nil
}
