package admin

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/heraldpush/herald/internal/audience"
	"github.com/heraldpush/herald/internal/store"
)

// The segments pages: a list with live counts, a form to create or edit
// one (with a live count of the rules as typed), and delete. Segments are
// kept by the store; the rules form reads and writes the API's RulesDoc,
// so that the UI and /v1/segments validate alike.

// segmentForm is the segment form's fields, as typed.
type segmentForm struct {
	Name, Title, Description string
	Tags, TagsAnd, TagsNot   string // comma-separated lists
	Languages, Timezones     string
	Channels                 []string
	ActiveWithin             string // "6h", "7d"
	ClickedWithin            string
}

func readSegmentForm(v url.Values) segmentForm {
	return segmentForm{Name: strings.TrimSpace(v.Get("name")), Title: strings.TrimSpace(v.Get("title")),
		Description: strings.TrimSpace(v.Get("description")),
		Tags:        v.Get("tags"), TagsAnd: v.Get("tags_and"), TagsNot: v.Get("tags_not"),
		Languages: v.Get("languages"), Timezones: v.Get("timezones"), Channels: v["channels"],
		ActiveWithin: strings.TrimSpace(v.Get("active_within")), ClickedWithin: strings.TrimSpace(v.Get("clicked_within"))}
}

func segmentFormOf(s store.Segment) segmentForm {
	d := audience.DocOf(s.Rules)
	var chs []string
	for _, c := range d.Channels {
		chs = append(chs, string(c))
	}
	return segmentForm{Name: s.Name, Title: s.Title, Description: s.Description,
		Tags: strings.Join(d.Tags, ", "), TagsAnd: strings.Join(d.TagsAnd, ", "), TagsNot: strings.Join(d.TagsNot, ", "),
		Languages: strings.Join(d.Languages, ", "), Timezones: strings.Join(d.Timezones, ", "), Channels: chs,
		ActiveWithin: d.ActiveWithin, ClickedWithin: d.ClickedWithin}
}

// rules parses and validates the form's rules as the API does.
func (f segmentForm) rules() (store.SegmentRules, error) {
	d := audience.RulesDoc{Tags: list(f.Tags), TagsAnd: list(f.TagsAnd), TagsNot: list(f.TagsNot),
		Languages: list(f.Languages), Timezones: list(f.Timezones),
		ActiveWithin: f.ActiveWithin, ClickedWithin: f.ClickedWithin}
	for _, c := range f.Channels {
		d.Channels = append(d.Channels, store.Channel(c))
	}
	return d.Rules("rules")
}

// segment is the form as a segment of appID, validated.
func (f segmentForm) segment(appID string) (store.Segment, error) {
	if err := audience.ValidateSegmentName("name", f.Name); err != nil {
		return store.Segment{}, err
	}
	if err := audience.ValidateSegmentText(f.Title, f.Description); err != nil {
		return store.Segment{}, err
	}
	rules, err := f.rules()
	return store.Segment{AppID: appID, Name: f.Name, Title: f.Title, Description: f.Description, Rules: rules}, err
}

// HasChannel tells the template which channel boxes to tick.
func (f segmentForm) HasChannel(c string) bool { return slices.Contains(f.Channels, c) }

type segmentRow struct {
	store.Segment
	Count   int64
	Summary []string
}

type segmentsData struct {
	Rows []segmentRow
}

// countSegment counts a segment's members now.
func (u *UI) countSegment(r *http.Request, appID string, rules store.SegmentRules) (int64, error) {
	return u.d.Store.CountAudience(r.Context(), appID, rules.Audience(u.now()))
}

func (u *UI) segments(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	segs, err := u.d.Store.ListSegments(r.Context(), c.app.ID)
	if err != nil {
		return err
	}
	var d segmentsData
	for _, s := range segs {
		n, err := u.countSegment(r, c.app.ID, s.Rules)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, segmentRow{Segment: s, Count: n, Summary: rulesSummary(s.Rules)})
	}
	u.render(w, r, http.StatusOK, "segments", u.newView(c, "Segments", "segments", d))
	return nil
}

type segmentEditData struct {
	Form       segmentForm
	Editing    string // the segment's current name; "" when creating
	ID         int64
	Count      int64
	CountError string
	Problem    string
	Field      string
	Channels   []string
}

func (u *UI) showSegmentForm(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, d segmentEditData) error {
	d.Channels = []string{string(store.ChannelWebPush), string(store.ChannelFCM), string(store.ChannelAPNs)}
	rules, err := d.Form.rules()
	if err == nil {
		d.Count, err = u.countSegment(r, c.app.ID, rules)
	}
	if msg, _, ok := fieldProblem(err); ok {
		d.CountError = msg
	} else if err != nil {
		return err
	}
	title := "New segment"
	if d.Editing != "" {
		title = "Segment " + d.Editing
	}
	u.render(w, r, status, "segment", u.newView(c, title, "segments", d))
	return nil
}

func (u *UI) newSegment(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return u.showSegmentForm(w, r, c, http.StatusOK, segmentEditData{Form: readSegmentForm(r.URL.Query())})
}

// loadSegment reads the segment named in the path.
func (u *UI) loadSegment(r *http.Request, c *reqCtx) (store.Segment, error) {
	s, err := u.d.Store.Segment(r.Context(), c.app.ID, r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		return s, notFound("Segment")
	}
	return s, err
}

func (u *UI) editSegment(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	s, err := u.loadSegment(r, c)
	if err != nil {
		return err
	}
	return u.showSegmentForm(w, r, c, http.StatusOK, segmentEditData{Form: segmentFormOf(s), Editing: s.Name, ID: s.ID})
}

// saveSegment creates a segment (no name in the path) or updates one.
func (u *UI) saveSegment(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f := readSegmentForm(r.PostForm)
	d := segmentEditData{Form: f}
	var old store.Segment
	if name := r.PathValue("name"); name != "" {
		var err error
		if old, err = u.loadSegment(r, c); err != nil {
			return err
		}
		d.Editing, d.ID = old.Name, old.ID
	}
	s, err := f.segment(c.app.ID)
	if err == nil {
		if d.Editing == "" {
			s, err = u.d.Store.CreateSegment(r.Context(), s)
		} else {
			s.ID = old.ID
			s, err = u.d.Store.UpdateSegment(r.Context(), s)
		}
	}
	switch msg, field, ok := fieldProblem(err); {
	case ok:
		d.Problem, d.Field = msg, field
		return u.showSegmentForm(w, r, c, http.StatusBadRequest, d)
	case errors.Is(err, store.ErrConflict):
		d.Problem, d.Field = "name: a segment named "+f.Name+" exists already", "name"
		return u.showSegmentForm(w, r, c, http.StatusConflict, d)
	case errors.Is(err, store.ErrNotFound):
		return notFound("Segment")
	case err != nil:
		return err
	}
	u.d.Log.InfoContext(r.Context(), "admin saved a segment", "app_id", c.app.ID, "segment", s.Name)
	return u.redirect(w, r, c, appURL(c.app.ID, "segments"), "Segment "+s.Name+" saved.")
}

func (u *UI) deleteSegment(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	name := r.PathValue("name")
	err := u.d.Store.DeleteSegment(r.Context(), c.app.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Segment")
	}
	if err != nil {
		return err
	}
	u.d.Log.InfoContext(r.Context(), "admin deleted a segment", "app_id", c.app.ID, "segment", name)
	return u.redirect(w, r, c, appURL(c.app.ID, "segments"), "Segment "+name+" deleted.")
}

// segmentCount answers the segment form's script: {"count":N}, or
// {"error":…,"field":…} with 400 for rules the API would refuse.
func (u *UI) segmentCount(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	rules, err := readSegmentForm(r.PostForm).rules()
	var n int64
	if err == nil {
		n, err = u.countSegment(r, c.app.ID, rules)
	}
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

// rulesSummary says in words whom a segment holds, one condition a line.
func rulesSummary(r store.SegmentRules) []string {
	out := audienceSummary(store.Audience{Tags: r.Tags, TagsAnd: r.TagsAnd, TagsNot: r.TagsNot,
		Languages: r.Languages, Timezones: r.Timezones, Channels: r.Channels})
	if w := audience.FormatWindow(r.ActiveWithin); w != "" {
		out = append(out, "active within "+w)
	}
	if w := audience.FormatWindow(r.ClickedWithin); w != "" {
		out = append(out, "clicked within "+w)
	}
	return out
}
