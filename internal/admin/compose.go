package admin

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/jsonreq"
	"github.com/heraldpush/herald/internal/send"
)

// langRows is how many per-language rows the compose form offers.
const langRows = 3

// composeForm is the compose page's fields, as typed.
type composeForm struct {
	Target          string // "all" or "filter"
	Tags            string // comma-separated lists
	TagsAnd         string
	TagsNot         string
	Aliases         string
	Languages       string
	Segments        []string // names, included (any of)
	SegmentsExclude []string // names, excluded
	LocalTime       string   // "HH:MM"
	IncludeInactive bool
	Title           string
	Body            string
	URL             string
	Icon            string
	Image           string
	Langs           []langRow
	SendAt          string // 2006-01-02T15:04, UTC
	Spread          string
	TTL             string
	Urgency         string
}

type langRow struct {
	N                 int
	Lang, Title, Body string
}

// readCompose reads the form (or, for prefilling, a query string).
func readCompose(v url.Values) composeForm {
	f := composeForm{
		Target: v.Get("target"), Tags: v.Get("tags"), TagsAnd: v.Get("tags_and"), TagsNot: v.Get("tags_not"),
		Aliases: v.Get("aliases"), Languages: v.Get("languages"), IncludeInactive: v.Get("include_inactive") == "yes",
		Segments: v["segments"], SegmentsExclude: v["segments_exclude"], LocalTime: strings.TrimSpace(v.Get("local_time")),
		Title: v.Get("title"), Body: v.Get("body"), URL: strings.TrimSpace(v.Get("url")),
		Icon: strings.TrimSpace(v.Get("icon")), Image: strings.TrimSpace(v.Get("image")),
		SendAt: strings.TrimSpace(v.Get("send_at")), Spread: strings.TrimSpace(v.Get("spread_minutes")),
		TTL: strings.TrimSpace(v.Get("ttl")), Urgency: v.Get("urgency"),
	}
	if f.Target != "filter" {
		f.Target = "all"
	}
	for i := 1; i <= langRows; i++ {
		n := strconv.Itoa(i)
		f.Langs = append(f.Langs, langRow{N: i, Lang: strings.TrimSpace(v.Get("lang_" + n)),
			Title: v.Get("lang_title_" + n), Body: v.Get("lang_body_" + n)})
	}
	return f
}

// list splits a comma- or newline-separated field.
func list(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// target is the form's audience as a send target.
func (f composeForm) target() *send.Target {
	if f.Target == "all" {
		return &send.Target{All: true}
	}
	refs := func(names []string) []send.SegmentRef {
		var out []send.SegmentRef
		for _, n := range names {
			out = append(out, send.SegmentRef{Name: n})
		}
		return out
	}
	return &send.Target{Tags: list(f.Tags), TagsAnd: list(f.TagsAnd), TagsNot: list(f.TagsNot),
		Aliases: list(f.Aliases), Languages: list(f.Languages),
		Segments: refs(f.Segments), SegmentsExclude: refs(f.SegmentsExclude)}
}

// request is the send the form describes. Problems with the form's own
// fields come back as *jsonreq.FieldError, as send's validation does.
func (f composeForm) request() (send.Request, error) {
	r := send.Request{To: f.target(), IncludeInactive: f.IncludeInactive, Urgency: f.Urgency, LocalTime: f.LocalTime,
		Content: send.Content{Title: f.Title, Body: f.Body, URL: f.URL, Icon: f.Icon, Image: f.Image}}
	for _, l := range f.Langs {
		if l.Lang == "" {
			if l.Title != "" || l.Body != "" {
				return r, jsonreq.Fieldf("content.languages", "row %d has text but no language code", l.N)
			}
			continue
		}
		if r.Content.Languages == nil {
			r.Content.Languages = map[string]send.Localized{}
		}
		r.Content.Languages[l.Lang] = send.Localized{Title: l.Title, Body: l.Body}
	}
	if f.SendAt != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", f.SendAt, time.UTC)
		if err != nil {
			return r, jsonreq.Fieldf("send_at", "must be a date and time such as 2026-12-01T09:30 (UTC)")
		}
		r.SendAt = &t
	}
	if f.Spread != "" {
		n, err := strconv.Atoi(f.Spread)
		if err != nil {
			return r, jsonreq.Fieldf("spread_minutes", "must be a whole number of minutes")
		}
		r.SpreadMinutes = n
	}
	if f.TTL != "" {
		n, err := strconv.ParseInt(f.TTL, 10, 64)
		if err != nil {
			return r, jsonreq.Fieldf("ttl", "must be a whole number of seconds")
		}
		r.TTL = &n
	}
	return r, nil
}

// previewTitle stands in for the content when only the target is checked.
const previewTitle = "preview"

// count returns how many subscribers the form's target reaches now,
// validated by send's own rules so that it matches what a send targets.
func (u *UI) count(r *http.Request, appID string, f composeForm) (int64, error) {
	m, err := u.d.Send.Prepare(r.Context(), appID, send.Request{To: f.target(), IncludeInactive: f.IncludeInactive,
		Content: send.Content{Title: previewTitle}})
	if err != nil {
		return 0, err
	}
	return u.d.Store.CountAudience(r.Context(), appID, m.Audience)
}

// fieldProblem turns a validation error into a sentence, or false for
// other errors.
func fieldProblem(err error) (msg, field string, ok bool) {
	var fe *jsonreq.FieldError
	var p *jsonreq.Problem
	switch {
	case errors.As(err, &fe):
		return fe.Field + ": " + fe.Message, fe.Field, true
	case errors.As(err, &p):
		return p.Message, p.Field, true
	}
	return "", "", false
}

type composeData struct {
	Form       composeForm
	Count      int64
	CountError string
	Problem    string
	Field      string
	Urgencies  []choice
	Segments   []segmentChoice
}

// segmentChoice is one saved segment in the compose form's pickers.
type segmentChoice struct {
	Name, Title       string
	Included, Exclude bool
}

// segmentChoices lists the app's segments, ticked as in f.
func (u *UI) segmentChoices(r *http.Request, appID string, f composeForm) ([]segmentChoice, error) {
	segs, err := u.d.Store.ListSegments(r.Context(), appID)
	if err != nil {
		return nil, err
	}
	out := make([]segmentChoice, 0, len(segs))
	for _, s := range segs {
		out = append(out, segmentChoice{Name: s.Name, Title: s.Title,
			Included: slices.Contains(f.Segments, s.Name), Exclude: slices.Contains(f.SegmentsExclude, s.Name)})
	}
	return out, nil
}

func urgencies() []choice {
	return []choice{{"", "normal (default)"}, {"very-low", "very low"}, {"low", "low"}, {"normal", "normal"}, {"high", "high"}}
}

func (u *UI) compose(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return u.showCompose(w, r, c, http.StatusOK, readCompose(r.URL.Query()), "", "")
}

func (u *UI) showCompose(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, f composeForm, problem, field string) error {
	d := composeData{Form: f, Problem: problem, Field: field, Urgencies: urgencies()}
	var err error
	if d.Segments, err = u.segmentChoices(r, c.app.ID, f); err != nil {
		return err
	}
	n, err := u.count(r, c.app.ID, f)
	if msg, _, ok := fieldProblem(err); ok {
		d.CountError = msg
	} else if err != nil {
		return err
	}
	d.Count = n
	u.render(w, r, status, "compose", u.newView(c, "Compose", "compose", d))
	return nil
}

// audienceCount answers the compose page's script: {"count":N}, or
// {"error":…,"field":…} with 400 for a target send would refuse.
func (u *UI) audienceCount(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	n, err := u.count(r, c.app.ID, readCompose(r.PostForm))
	if msg, field, ok := fieldProblem(err); ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg, "field": field})
		return nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int64{"count": n})
	return nil
}

func (u *UI) sendMessage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f := readCompose(r.PostForm)
	req, err := f.request()
	if err == nil {
		msg, _, serr := u.d.Send.Send(r.Context(), c.app.ID, req)
		if serr == nil {
			u.d.Log.InfoContext(r.Context(), "admin sent a message", "app_id", c.app.ID, "msg_id", msg.ID)
			note := "Message " + strconv.FormatInt(msg.ID, 10) + " is queued."
			if req.SendAt != nil {
				note = "Message " + strconv.FormatInt(msg.ID, 10) + " is scheduled for " + when(msg.SendAt) + "."
			}
			return u.redirect(w, r, c, appURL(c.app.ID, "messages", strconv.FormatInt(msg.ID, 10)), note)
		}
		err = serr
	}
	if msg, field, ok := fieldProblem(err); ok {
		return u.showCompose(w, r, c, http.StatusBadRequest, f, msg, field)
	}
	return err
}
