package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/heraldpush/herald/internal/delivery"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/testpush"
)

// The notification of the big send: with the id Herald adds, its payload
// is about 200 bytes.
var notification = send.Content{
	Title: "Your order has shipped",
	Body:  "Order #48213 left our warehouse this morning and should arrive on Thursday.",
	URL:   "https://shop.example.com/orders/48213?utm_source=push",
}

// pollEvery is how often the send's progress and the message's state are
// read while it runs.
const pollEvery = 100 * time.Millisecond

// send submits the one message to every subscriber and waits until the
// message is done, measuring the while.
func (rn *run) send(ctx context.Context, r *WebPushResult) error {
	runtime.GC()
	debug.FreeOSMemory()
	r.SetupPeakRSSMB = peakRSSMB()
	r.RSSBeforeSendMB = rssMB()
	r.PeakRSSScope = "process"
	if resetPeakRSS() {
		r.PeakRSSScope = "send"
	}
	r.RSSMinSendMB, r.RSSMaxSendMB = r.RSSBeforeSendMB, r.RSSBeforeSendMB
	var prof *bytes.Buffer
	if rn.o.CPUProfile != nil {
		prof = &bytes.Buffer{}
		if err := pprof.StartCPUProfile(io.MultiWriter(rn.o.CPUProfile, prof)); err != nil {
			return fmt.Errorf("bench: cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile() // on error; a second Stop does nothing
	}
	ttl := int64(24 * 60 * 60)
	req := send.Request{To: &send.Target{All: true}, Content: notification, TTL: &ttl}
	cpu0 := cpuTime()
	submitted := time.Now()
	rn.col.base.Store(submitted.UnixNano())
	var msg store.Message
	var err error
	pprof.Do(ctx, pprof.Labels("side", "herald"), func(ctx context.Context) {
		msg, _, err = rn.h.send.Send(ctx, rn.appID, req)
	})
	if err != nil {
		return err
	}
	accepted := time.Now()
	r.MessageID, r.SubmitMs = msg.ID, ms(accepted.Sub(submitted))
	if p, err := (delivery.Content{Title: notification.Title, Body: notification.Body, URL: notification.URL}).Payload(msg.ID, ""); err == nil {
		r.PayloadBytes = len(p)
	}
	stop, probed := make(chan struct{}), make(chan error, 1)
	var lat []time.Duration
	if rn.o.BusyProbes > 0 {
		go func() {
			var err error
			lat, err = rn.busyProbes(ctx, stop)
			probed <- err
		}()
	} else {
		probed <- nil
	}
	msg, err = rn.wait(ctx, msg, accepted, r)
	close(stop)
	if perr := <-probed; err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	setBusyProbes(r, lat)
	r.PeakRSSMB = peakRSSMB()
	r.CPUSeconds, r.CPUPressure = round2((cpuTime() - cpu0).Seconds()), cpuPressure()
	if prof != nil {
		pprof.StopCPUProfile()
		by, err := cpuByLabel(prof.Bytes(), "side")
		if err != nil {
			return err
		}
		r.HeraldCPUSeconds, r.TestpushCPUSeconds = round2(by["herald"].Seconds()), round2(by["testpush"].Seconds())
		r.RuntimeCPUSeconds = round2(by[""].Seconds())
	}
	rn.measure(msg, submitted, accepted, r)
	return nil
}

// wait shows progress until the message is done, sampling RSS.
func (rn *run) wait(ctx context.Context, msg store.Message, accepted time.Time, r *WebPushResult) (store.Message, error) {
	p := newProgress(rn.o.Progress, rn.o.Terminal, "send", rn.o.Subscribers)
	p.start = accepted
	deadline := time.NewTimer(rn.o.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			p.finish(rn.tp.Count())
			return msg, fmt.Errorf("bench: send interrupted: %w", ctx.Err())
		case <-deadline.C:
			p.finish(rn.tp.Count())
			return msg, fmt.Errorf("bench: message %d not done after %v: %d of %d pushes accepted, state %s",
				msg.ID, rn.o.Timeout, rn.tp.Count(), rn.o.Subscribers, msg.State)
		case <-tick.C:
		}
		rn.sample(p, r)
		m, err := rn.h.st.Message(ctx, rn.appID, msg.ID)
		if err != nil {
			return msg, err
		}
		if msg = m; msg.State == store.StateDone {
			rn.sample(p, r) // the last pushes may have landed since
			p.finish(rn.tp.Count())
			return msg, nil
		}
	}
}

// sample shows progress and records RSS, and at each tenth of the pushes
// RSS and the Go heap.
func (rn *run) sample(p *progress, r *WebPushResult) {
	n := min(rn.tp.Count(), rn.o.Subscribers)
	p.update(n)
	rss := rssMB()
	r.RSSMinSendMB, r.RSSMaxSendMB = min(r.RSSMinSendMB, rss), max(r.RSSMaxSendMB, rss)
	for len(r.RSSByTenth) < n*10/rn.o.Subscribers {
		r.RSSByTenth = append(r.RSSByTenth, rss)
		r.GoHeapByTenth = append(r.GoHeapByTenth, goHeapMB())
	}
}

// measure turns the collector's figures and the final message into r.
func (rn *run) measure(msg store.Message, submitted, accepted time.Time, r *WebPushResult) {
	c := rn.col
	shift := accepted.Sub(submitted) // the histogram counts from submitted
	at := func(q float64) float64 { return ms(max(c.hist.quantile(q)-shift, 0)) }
	r.P50ms, r.P99ms, r.P90ms, r.MaxMs = at(0.5), at(0.99), at(0.9), at(1)
	if n := c.hist.n.Load(); n > 0 {
		r.FirstPushMs = ms(max(time.Duration(c.first.Load()-accepted.UnixNano()), 0))
		r.Seconds = round2(max(time.Duration(c.last.Load()-accepted.UnixNano()), 0).Seconds())
	}
	if !msg.FinishedAt.IsZero() {
		r.DoneSeconds = round2(msg.FinishedAt.Sub(accepted).Seconds())
	}
	r.Message = Counters{State: string(msg.State), Targeted: msg.Targeted, Sent: msg.Sent, Failed: msg.Failed,
		Pruned: msg.Pruned, Expired: msg.Expired, FailedReasons: msg.FailedReasons}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.RSSAfterMB, r.HeapAfterMB = rssMB(), round1(float64(ms.HeapAlloc)/(1<<20))
}

// verify accounts for every push: one per subscription, each decrypted
// (VerifyAll) or one in SampleEvery (VerifySample), none rejected, and
// the message's counters agree.
func (rn *run) verify(r *WebPushResult) {
	rn.ids.each(func(id string) {
		switch d := rn.tp.Deliveries(id); {
		case d == 0:
			r.Missing++
		default:
			r.Delivered++
			r.Duplicates += d - 1
		}
	})
	if r.Seconds > 0 {
		r.PerSecond = round1(float64(r.Delivered) / r.Seconds)
	}
	if r.CryptoPerSecondAllCores > 0 {
		r.FractionOfCrypto = round2(r.PerSecond / r.CryptoPerSecondAllCores)
	}
	if r.Delivered > 0 {
		r.CPUUsPerPush = round1(r.CPUSeconds * 1e6 / float64(r.Delivered))
		if r.CryptoPerCPUSecond > 0 && r.CPUUsPerPush > 0 {
			r.FractionOfCryptoCPU = round2(1e6 / r.CryptoPerCPUSecond / r.CPUUsPerPush)
		}
	}
	if labelled := r.HeraldCPUSeconds + r.TestpushCPUSeconds; labelled > 0 && r.Delivered > 0 {
		herald := r.HeraldCPUSeconds * (1 + r.RuntimeCPUSeconds/labelled)
		r.HeraldCPUUsPerPush = round1(herald * 1e6 / float64(r.Delivered))
		if r.CryptoPerCPUSecond > 0 {
			r.HeraldFractionOfCrypto = round2(1e6 / r.CryptoPerCPUSecond / r.HeraldCPUUsPerPush)
		}
	}
	st := rn.tp.Stats()
	r.PushesTotal, r.Decrypted, r.Requests = st.Accepted-uint64(r.BusyProbes), st.Decrypted, st.Requests
	if len(st.Rejected) > 0 {
		r.Rejected = st.Rejected
	}
	n := int64(rn.o.Subscribers)
	wantDecrypted := st.Accepted
	if rn.o.Verify == testpush.VerifySample {
		wantDecrypted = (st.Accepted + uint64(rn.o.SampleEvery) - 1) / uint64(rn.o.SampleEvery)
	}
	problem := func(ok bool, format string, args ...any) {
		if !ok {
			r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
		}
	}
	problem(r.Delivered == rn.o.Subscribers, "%d of %d subscriptions got the push", r.Delivered, rn.o.Subscribers)
	problem(r.Duplicates == 0, "%d duplicate pushes", r.Duplicates)
	problem(st.Decrypted == wantDecrypted, "testpush decrypted %d payloads, want %d", st.Decrypted, wantDecrypted)
	problem(len(st.Rejected) == 0, "testpush rejected pushes: %s", jsonString(st.Rejected))
	problem(r.Message.State == string(store.StateDone) && r.Message.Targeted == n && r.Message.Sent == n,
		"message: state %s, targeted %d, sent %d, want done, %d, %d", r.Message.State, r.Message.Targeted, r.Message.Sent, n, n)
	problem(r.Message.Failed+r.Message.Pruned+r.Message.Expired == 0, "message: failed %d (%s), pruned %d, expired %d",
		r.Message.Failed, jsonString(r.Message.FailedReasons), r.Message.Pruned, r.Message.Expired)
	r.OK = len(r.Problems) == 0
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// quantileOf returns the q-quantile of sorted durations.
func quantileOf(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(q*float64(len(d))+0.999999) - 1
	return d[min(max(i, 0), len(d)-1)]
}
