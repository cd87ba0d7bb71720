package bench

import (
	"context"
	"fmt"
	"runtime/pprof"
	"time"

	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

// probeTarget is the one subscriber, in an app of its own, that probes
// send to, so the big send's "all" does not include it.
type probeTarget struct {
	appID          string
	registrationID string
}

// probeWait bounds how long one probe's push may take.
const probeWait = 30 * time.Second

func (rn *run) setupProbe(ctx context.Context) error {
	appID, _, err := rn.h.populate(ctx, rn.tp, "bench-probe", 1, nil)
	if err != nil {
		return err
	}
	subs, err := rn.h.st.ListSubscribers(ctx, appID, store.SubscriberFilter{})
	if err != nil || len(subs) != 1 {
		return fmt.Errorf("bench: probe subscriber: %d found, %v", len(subs), err)
	}
	rn.probeTo = probeTarget{appID: appID, registrationID: subs[0].RegistrationID}
	return nil
}

// probe sends Probes one-recipient messages one after the other on the
// now idle engine and measures message accepted → push accepted.
func (rn *run) probe(ctx context.Context, r *WebPushResult) error {
	lat := make([]time.Duration, 0, rn.o.Probes)
	ttl := int64(3600)
	for i := range rn.o.Probes {
		before := rn.tp.Count()
		req := send.Request{To: &send.Target{RegistrationIDs: []string{rn.probeTo.registrationID}},
			Content: send.Content{Title: "probe", Body: fmt.Sprintf("probe %d", i)}, TTL: &ttl}
		var err error
		pprof.Do(ctx, pprof.Labels("side", "herald"), func(ctx context.Context) {
			_, _, err = rn.h.send.Send(ctx, rn.probeTo.appID, req)
		})
		if err != nil {
			return err
		}
		accepted := time.Now()
		wctx, cancel := context.WithTimeout(ctx, probeWait)
		err = rn.tp.WaitCount(wctx, before+1)
		cancel()
		if err != nil {
			return fmt.Errorf("bench: probe %d: %w", i, err)
		}
		lat = append(lat, max(time.Duration(rn.col.last.Load()-accepted.UnixNano()), 0))
	}
	r.Probes = len(lat)
	r.ProbeP50ms, r.ProbeP99ms, r.ProbeMaxMs = ms(quantileOf(lat, 0.5)), ms(quantileOf(lat, 0.99)), ms(quantileOf(lat, 1))
	return nil
}
