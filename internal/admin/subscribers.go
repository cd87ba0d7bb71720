package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

// subscriberPage is how many subscribers a page lists.
const subscriberPage = 50

// activityChoices are the "active within" filter's options.
func activityChoices() []choice {
	return []choice{{"", "any time"}, {"24h", "the last day"}, {"168h", "the last 7 days"},
		{"720h", "the last 30 days"}, {"2160h", "the last 90 days"}}
}

type choice struct{ Value, Label string }

type subscriberFilter struct {
	Tag, Alias, Language, Type, Active string
}

type subscriberRow struct {
	store.Subscriber
	Target string // the endpoint's host, or the token's start: never the whole secret
}

type subscribersData struct {
	Filter     subscriberFilter
	Activity   []choice
	Types      []string
	Rows       []subscriberRow
	Matching   int64
	Total      int64
	NextURL    string
	FirstURL   string
	Paged      bool
	Problem    string
	Tags       []store.TagCount
	TagURL     map[string]string
	FilterOn   bool
	FirstShown int
}

func (u *UI) subscribers(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	d := subscribersData{
		Filter: subscriberFilter{Tag: strings.TrimSpace(q.Get("tag")), Alias: strings.TrimSpace(q.Get("alias")),
			Language: strings.TrimSpace(q.Get("language")), Type: q.Get("type"), Active: q.Get("active")},
		Activity: activityChoices(),
		Types:    []string{"webpush", "fcm", "apns"},
		TagURL:   map[string]string{},
	}
	f := registry.Filter{Tag: d.Filter.Tag, Alias: d.Filter.Alias, Language: d.Filter.Language, Limit: subscriberPage}
	status := http.StatusOK
	switch d.Filter.Type {
	case "", "webpush", "fcm", "apns":
		f.Channel = store.Channel(d.Filter.Type)
	default:
		d.Problem, d.Filter.Type = "Type must be webpush, fcm or apns.", ""
	}
	if d.Filter.Active != "" {
		dur, err := time.ParseDuration(d.Filter.Active)
		if err != nil || dur <= 0 {
			d.Problem, d.Filter.Active = "Choose an activity window from the list.", ""
		} else {
			f.ActiveSince = u.now().Add(-dur)
		}
	}
	if cur := q.Get("cursor"); cur != "" {
		n, err := strconv.ParseInt(cur, 10, 64)
		if err != nil || n < 0 {
			d.Problem = "That page link is not valid; showing the first page."
		} else {
			f.AfterID, d.Paged = n, true
		}
	}
	d.FilterOn = d.Filter != subscriberFilter{}
	ctx := r.Context()
	subs, next, err := u.d.Registry.List(ctx, c.app.ID, f)
	var fe *registry.FieldError
	if errors.As(err, &fe) {
		d.Problem = "The " + fe.Field + " filter " + fe.Message + "."
		status = http.StatusBadRequest
		subs, next, err = nil, 0, nil
		d.Filter.Tag = ""
	}
	if err != nil {
		return err
	}
	for _, s := range subs {
		d.Rows = append(d.Rows, subscriberRow{Subscriber: s, Target: shortTarget(s)})
	}
	count := f
	count.AfterID, count.Limit = 0, 0
	if d.Matching, err = u.d.Registry.Count(ctx, c.app.ID, count); err != nil {
		return err
	}
	if d.Total, err = u.d.Registry.Count(ctx, c.app.ID, registry.Filter{}); err != nil {
		return err
	}
	base := url.Values{}
	for k, v := range map[string]string{"tag": d.Filter.Tag, "alias": d.Filter.Alias, "language": d.Filter.Language, "type": d.Filter.Type, "active": d.Filter.Active} {
		if v != "" {
			base.Set(k, v)
		}
	}
	d.FirstURL = appURL(c.app.ID, "subscribers") + "?" + base.Encode()
	if next > 0 {
		nq := url.Values{}
		for k, v := range base {
			nq[k] = v
		}
		nq.Set("cursor", strconv.FormatInt(next, 10))
		d.NextURL = appURL(c.app.ID, "subscribers") + "?" + nq.Encode()
	}
	if d.Tags, err = u.d.Registry.Tags(ctx, c.app.ID); err != nil {
		return err
	}
	if len(d.Tags) > maxTagsShown {
		d.Tags = d.Tags[:maxTagsShown]
	}
	for _, t := range d.Tags {
		d.TagURL[t.Tag] = appURL(c.app.ID, "subscribers") + "?" + url.Values{"tag": {t.Tag}}.Encode()
	}
	u.render(w, r, status, "subscribers", u.newView(c, "Subscribers", "subscribers", d))
	return nil
}

// shortTarget shows where a subscriber is reached without the secret part:
// a Web Push endpoint's host, or the first characters of a device token.
func shortTarget(s store.Subscriber) string {
	if s.Channel == store.ChannelWebPush {
		if u, err := url.Parse(s.Token); err == nil && u.Host != "" {
			return u.Host
		}
		return "?"
	}
	if len(s.Token) > 8 {
		return s.Token[:8] + "…"
	}
	return s.Token
}
