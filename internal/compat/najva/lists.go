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
// saved segments, whose ids feed segments_include and segments_exclude.
func (h *Handler) segments(w http.ResponseWriter, r *http.Request, app store.App) error {
	if err := owns(app, r.PathValue("api_key")); err != nil {
		return err
	}
	out := []segment{}
	if h.d.Segments != nil {
		list, err := h.d.Segments.Segments(r.Context(), app.ID)
		if err != nil {
			return err
		}
		for _, s := range list {
			out = append(out, segment{ID: s.ID, Name: s.Name, HumanReadableName: s.HumanReadableName,
				SubscriberCount: s.SubscriberCount, SubsriberCount: s.SubscriberCount})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// oneSignals serves GET /api/v1/one-signals/. A self-hosted Herald links
// no OneSignal account: subscribers moved from OneSignal are imported
// (herald import --format onesignal) and are the app's own, reached by
// every send. The list is therefore always empty.
func (h *Handler) oneSignals(w http.ResponseWriter, r *http.Request, _ store.App) error {
	writeJSON(w, http.StatusOK, []oneSignal{})
	return nil
}
