package najva

import (
	"net/http"

	"github.com/heraldpush/herald/internal/store"
)

// segment is one entry of the segments list. The seed's example spells
// the count subsriber_count and its note subscriber_count; both are
// sent, so a client reading either finds it.
type segment struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	HumanReadableName string `json:"human_readable_name"`
	SubscriberCount   int64  `json:"subscriber_count"`
	SubsriberCount    int64  `json:"subsriber_count"`
}

// oneSignal is one entry of the OneSignal accounts list.
type oneSignal struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// segments serves GET /api/v1/websites/<api_key>/segments/: the app's
// saved segments with their live member counts (every subscriber the
// rules match now); the ids feed segments_include and segments_exclude.
func (h *Handler) segments(w http.ResponseWriter, r *http.Request, app store.App) error {
	if err := owns(app, r.PathValue("api_key")); err != nil {
		return err
	}
	out := []segment{}
	if h.d.Segments == nil {
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	list, err := h.d.Segments.ListSegments(r.Context(), app.ID)
	if err != nil {
		return err
	}
	now := h.now()
	for _, s := range list {
		n, err := h.d.Segments.CountAudience(r.Context(), app.ID, s.Rules.Audience(now))
		if err != nil {
			return err
		}
		out = append(out, segment{ID: s.ID, Name: s.Name, HumanReadableName: humanName(s),
			SubscriberCount: n, SubsriberCount: n})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// humanName is what Najva calls a segment's human_readable_name: its
// title, else its description, else its name.
func humanName(s store.Segment) string {
	for _, v := range []string{s.Title, s.Description} {
		if v != "" {
			return v
		}
	}
	return s.Name
}

// oneSignals serves GET /api/v1/one-signals/. A self-hosted Herald links
// no OneSignal account: subscribers moved from OneSignal are imported
// (herald import --format onesignal) and are the app's own, reached by
// every send. The list is therefore always empty.
func (h *Handler) oneSignals(w http.ResponseWriter, r *http.Request, _ store.App) error {
	writeJSON(w, http.StatusOK, []oneSignal{})
	return nil
}
