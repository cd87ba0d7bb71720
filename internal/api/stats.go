package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// Timelines is what GET /v1/messages/{id}/stats needs beyond Messages: a
// message's outcomes per second. The store given as Deps.Messages provides
// it (store.Store embeds store.Timelines); the handler finds it there, so
// that Deps keeps one field per service.
type Timelines interface {
	MessageTimeline(ctx context.Context, appID string, id int64) ([]store.TimelinePoint, error)
	ChannelCounts(ctx context.Context, appID string, id int64) (map[store.Channel]store.Counters, error)
}

var _ Timelines = store.Store(nil)

// statsJSON is GET /v1/messages/{id}/stats: the counters, the failure
// reasons and the delivery timeline.
type statsJSON struct {
	ID            string           `json:"id"`
	State         string           `json:"state"`
	Counters      countersJSON     `json:"counters"`
	FailedReasons map[string]int64 `json:"failed_reasons"`
	// ByChannel splits the final outcomes by channel (webpush, fcm, apns).
	ByChannel map[string]channelJSON `json:"by_channel"`
	// Timeline has one point per second in which recipients got a final
	// outcome, in time order; seconds without any are left out.
	Timeline []timelinePointJSON `json:"timeline"`
}

type channelJSON struct {
	Sent    int64 `json:"sent"`
	Failed  int64 `json:"failed"`
	Pruned  int64 `json:"pruned"`
	Expired int64 `json:"expired"`
}

type countersJSON struct {
	Targeted int64 `json:"targeted"`
	Sent     int64 `json:"sent"`
	Failed   int64 `json:"failed"`
	Pruned   int64 `json:"pruned"`
	Expired  int64 `json:"expired"`
	Received int64 `json:"received"`
	Clicked  int64 `json:"clicked"`
}

type timelinePointJSON struct {
	At      time.Time `json:"at"`
	Sent    int64     `json:"sent"`
	Failed  int64     `json:"failed"`
	Pruned  int64     `json:"pruned"`
	Expired int64     `json:"expired"`
}

func (a *API) messageStats(w http.ResponseWriter, r *http.Request, app store.App) error {
	id, err := messageID(r)
	if err != nil {
		return err
	}
	tl, ok := a.messages.(Timelines)
	if !ok {
		return errors.New("api: the message store keeps no timelines")
	}
	m, err := a.messages.Message(r.Context(), app.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("message")
	}
	if err != nil {
		return err
	}
	points, err := tl.MessageTimeline(r.Context(), app.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("message")
	}
	if err != nil {
		return err
	}
	byChannel, err := tl.ChannelCounts(r.Context(), app.ID, id)
	if err != nil {
		return err
	}
	out := statsJSON{
		ID: strconv.FormatInt(m.ID, 10), State: string(m.State),
		Counters: countersJSON{Targeted: m.Targeted, Sent: m.Sent, Failed: m.Failed, Pruned: m.Pruned,
			Expired: m.Expired, Received: m.Received, Clicked: m.Clicked},
		FailedReasons: m.FailedReasons,
		Timeline:      make([]timelinePointJSON, len(points)),
	}
	if out.FailedReasons == nil {
		out.FailedReasons = map[string]int64{}
	}
	out.ByChannel = make(map[string]channelJSON, len(byChannel))
	for ch, c := range byChannel {
		out.ByChannel[string(ch)] = channelJSON{Sent: c.Sent, Failed: c.Failed, Pruned: c.Pruned, Expired: c.Expired}
	}
	for i, p := range points {
		out.Timeline[i] = timelinePointJSON{At: p.At, Sent: p.Sent, Failed: p.Failed, Pruned: p.Pruned, Expired: p.Expired}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
