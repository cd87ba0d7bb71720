package bench

import (
	"context"
	"fmt"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/heraldpush/herald/internal/delivery"
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
	rn.h.clock.app.Store(&appID)
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

// probeClock is told when a push to the probe's app has been answered
// sent: during the big send testpush's acceptance times cannot tell a
// probe's push from the others.
type probeClock struct {
	app  atomic.Pointer[string]
	sent chan time.Time // buffered; a time nobody waits for is dropped
}

func newProbeClock() *probeClock { return &probeClock{sent: make(chan time.Time, 1)} }

// clockPusher is the Web Push Pusher, telling clock about probe pushes.
type clockPusher struct {
	delivery.Pusher
	clock *probeClock
}

func (p clockPusher) Push(ctx context.Context, sub store.Subscriber, push delivery.Push) delivery.Attempt {
	at := p.Pusher.Push(ctx, sub, push)
	if app := p.clock.app.Load(); app != nil && sub.AppID == *app && at.Result == store.ResultSent {
		select {
		case p.clock.sent <- time.Now():
		default:
		}
	}
	return at
}

// busyProbeGap is the pause before each probe sent during the big send.
const busyProbeGap = 250 * time.Millisecond

// busyProbes sends BusyProbes one-recipient messages one after the other
// while the big send runs, each busyProbeGap after the last one's push,
// until stop is closed or 90% of the big send's pushes are out (so that
// no probe lands after its last push), and returns each one's message
// accepted → push answered.
func (rn *run) busyProbes(ctx context.Context, stop <-chan struct{}) ([]time.Duration, error) {
	var lat []time.Duration
	ttl := int64(3600)
	gap := time.NewTimer(busyProbeGap)
	defer gap.Stop()
	for i := range rn.o.BusyProbes {
		select {
		case <-stop:
			return lat, nil
		case <-ctx.Done():
			return lat, ctx.Err()
		case <-gap.C:
		}
		if rn.tp.Count() >= rn.o.Subscribers*9/10 {
			return lat, nil
		}
		select {
		case <-rn.h.clock.sent: // an earlier push nobody waited for
		default:
		}
		req := send.Request{To: &send.Target{RegistrationIDs: []string{rn.probeTo.registrationID}},
			Content: send.Content{Title: "probe", Body: fmt.Sprintf("busy probe %d", i)}, TTL: &ttl}
		var err error
		pprof.Do(ctx, pprof.Labels("side", "herald"), func(ctx context.Context) {
			_, _, err = rn.h.send.Send(ctx, rn.probeTo.appID, req)
		})
		if err != nil {
			return lat, err
		}
		accepted := time.Now()
		wait := time.NewTimer(probeWait)
		select {
		case at := <-rn.h.clock.sent:
			lat = append(lat, max(at.Sub(accepted), 0))
		case <-wait.C:
			return lat, fmt.Errorf("bench: busy probe %d not pushed after %v", i, probeWait)
		}
		wait.Stop()
		gap.Reset(busyProbeGap)
	}
	return lat, nil
}

// setBusyProbes records the probes' latencies in r.
func setBusyProbes(r *WebPushResult, lat []time.Duration) {
	r.BusyProbes = len(lat)
	r.BusyProbeP50ms, r.BusyProbeP99ms, r.BusyProbeMaxMs = ms(quantileOf(lat, 0.5)), ms(quantileOf(lat, 0.99)), ms(quantileOf(lat, 1))
}
