package admin

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldpush/herald/internal/store"
)

// messagePage is how many messages the list shows at once.
const messagePage = 25

// contentView is what the UI shows of a message's content JSON (owned by
// the delivery engine; only the fields an operator reads are decoded).
type contentView struct {
	Title     string `json:"title"`
	Body      string `json:"body"`
	URL       string `json:"url"`
	Icon      string `json:"icon"`
	Image     string `json:"image"`
	Languages map[string]struct {
		Title string `json:"title"`
		Body  string `json:"body"`
	} `json:"languages"`
	Data json.RawMessage `json:"data"`
}

func decodeContent(b []byte) contentView {
	var c contentView
	_ = json.Unmarshal(b, &c) // an undecodable content shows as empty
	return c
}

type messageRow struct {
	store.Message
	Content contentView
	Other   int64 // failed + pruned + expired
}

type messagesData struct {
	Rows     []messageRow
	NextURL  string
	FirstURL string
	Paged    bool
}

func (u *UI) messageList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	var before int64
	d := messagesData{FirstURL: appURL(c.app.ID, "messages")}
	if cur := r.URL.Query().Get("before"); cur != "" {
		n, err := strconv.ParseInt(cur, 10, 64)
		if err == nil && n > 0 {
			before, d.Paged = n, true
		}
	}
	list, err := u.d.Store.ListMessages(r.Context(), c.app.ID, before, messagePage)
	if err != nil {
		return err
	}
	for _, m := range list {
		d.Rows = append(d.Rows, messageRow{Message: m, Content: decodeContent(m.Content), Other: m.Failed + m.Pruned + m.Expired})
	}
	if len(list) == messagePage {
		d.NextURL = appURL(c.app.ID, "messages") + "?before=" + strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	u.render(w, r, http.StatusOK, "messages", u.newView(c, "Messages", "messages", d))
	return nil
}

// final says whether a message's counters can still change by delivery.
func final(s store.MessageState) bool { return s == store.StateDone || s == store.StateCancelled }

type reasonCount struct {
	Reason string
	Count  int64
}

type messageData struct {
	Message    store.Message
	Content    contentView
	Audience   []string
	Reasons    []reasonCount
	Chart      chartView
	Final      bool
	Cancelable bool
	StatsURL   string
	ChartURL   string
	Pending    int64
}

// loadMessage reads the message named in the path, of the app only.
func (u *UI) loadMessage(r *http.Request, c *reqCtx) (store.Message, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.Message{}, notFound("Message")
	}
	m, err := u.d.Store.Message(r.Context(), c.app.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Message{}, notFound("Message " + r.PathValue("id"))
	}
	return m, err
}

func (u *UI) timelineChart(r *http.Request, c *reqCtx, id int64) (chartView, error) {
	points, err := u.d.Store.MessageTimeline(r.Context(), c.app.ID, id)
	if err != nil {
		return chartView{}, err
	}
	return buildChart(points), nil
}

func (u *UI) messagePage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	m, err := u.loadMessage(r, c)
	if err != nil {
		return err
	}
	d := messageData{Message: m, Content: decodeContent(m.Content), Final: final(m.State),
		Cancelable: m.State == store.StateScheduled || m.State == store.StateQueued || m.LocalTime != "" && m.State == store.StateSending,
		Pending:    max(0, m.Targeted-m.Sent-m.Failed-m.Pruned-m.Expired)}
	id := strconv.FormatInt(m.ID, 10)
	d.StatsURL, d.ChartURL = appURL(c.app.ID, "messages", id, "stats"), appURL(c.app.ID, "messages", id, "chart")
	d.Audience = audienceSummary(m.Audience)
	for reason, n := range m.FailedReasons {
		d.Reasons = append(d.Reasons, reasonCount{reason, n})
	}
	slices.SortFunc(d.Reasons, func(a, b reasonCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Reason, b.Reason))
	})
	if d.Chart, err = u.timelineChart(r, c, m.ID); err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "message", u.newView(c, "Message "+id, "messages", d))
	return nil
}

// statsJSON is what the message page's script polls.
type statsJSON struct {
	State    string `json:"state"`
	Final    bool   `json:"final"`
	Targeted int64  `json:"targeted"`
	Sent     int64  `json:"sent"`
	Failed   int64  `json:"failed"`
	Pruned   int64  `json:"pruned"`
	Expired  int64  `json:"expired"`
	Received int64  `json:"received"`
	Clicked  int64  `json:"clicked"`
	Pending  int64  `json:"pending"`
	Finished string `json:"finished_at"` // as the page shows it
}

func (u *UI) messageStats(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	m, err := u.loadMessage(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statsJSON{State: string(m.State), Final: final(m.State), Targeted: m.Targeted,
		Sent: m.Sent, Failed: m.Failed, Pruned: m.Pruned, Expired: m.Expired, Received: m.Received, Clicked: m.Clicked,
		Pending: max(0, m.Targeted-m.Sent-m.Failed-m.Pruned-m.Expired), Finished: when(m.FinishedAt)})
	return nil
}

// messageChart answers the chart alone, for the page's script to swap in.
func (u *UI) messageChart(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	m, err := u.loadMessage(r, c)
	if err != nil {
		return err
	}
	v, err := u.timelineChart(r, c, m.ID)
	if err != nil {
		return err
	}
	u.renderFragment(w, r, "message", "chart", v)
	return nil
}

func (u *UI) cancelMessage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	m, err := u.loadMessage(r, c)
	if err != nil {
		return err
	}
	page := appURL(c.app.ID, "messages", strconv.FormatInt(m.ID, 10))
	_, err = u.d.Canceller.Cancel(r.Context(), c.app.ID, m.ID)
	switch {
	case errors.Is(err, store.ErrConflict):
		return u.redirect(w, r, c, page, "The message has already started; it can no longer be cancelled.")
	case err != nil:
		return err
	}
	u.d.Log.InfoContext(r.Context(), "admin cancelled a message", "app_id", c.app.ID, "msg_id", m.ID)
	return u.redirect(w, r, c, page, "Message cancelled.")
}

// audienceSummary says in words whom a message targets, one condition a
// line; nil is everyone.
func audienceSummary(a store.Audience) []string {
	var out []string
	add := func(label string, vals []string) {
		if len(vals) > 0 {
			out = append(out, label+" "+strings.Join(vals, ", "))
		}
	}
	if n := len(a.RegistrationIDs); n > 0 {
		out = append(out, fmt.Sprintf("%d registration ids", n))
	}
	add("any of the tags", a.Tags)
	add("all of the tags", a.TagsAnd)
	add("none of the tags", a.TagsNot)
	add("aliases", a.Aliases)
	add("languages", a.Languages)
	add("time zones", a.Timezones)
	var chans []string
	for _, c := range a.Channels {
		chans = append(chans, string(c))
	}
	add("channels", chans)
	if !a.ActiveSince.IsZero() {
		out = append(out, "active since "+when(a.ActiveSince))
	}
	if !a.ClickedSince.IsZero() {
		out = append(out, "clicked since "+when(a.ClickedSince))
	}
	if n := len(a.AnyOf); n > 0 {
		out = append(out, fmt.Sprintf("in at least one of %d segments (their rules as of the send)", n))
	}
	if n := len(a.NoneOf); n > 0 {
		out = append(out, fmt.Sprintf("in none of %d segments (their rules as of the send)", n))
	}
	return out
}
