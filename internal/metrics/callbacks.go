package metrics

import "github.com/prometheus/client_golang/prometheus"

// callbackCollectors count what the callback drainer does.
type callbackCollectors struct {
	batches *prometheus.CounterVec
	events  *prometheus.CounterVec
}

func newCallbackCollectors(reg *prometheus.Registry) *callbackCollectors {
	c := &callbackCollectors{
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_callback_batches_total",
			Help: "Callback requests by result (delivered, failed) and whether they carried events tried before (retry: true, false).",
		}, []string{"result", "retry"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_callback_events_total",
			Help: "Callback events by what became of them: delivered, deferred (a failed post, tried again later), given_up (out of attempts).",
		}, []string{"result"}),
	}
	reg.MustRegister(c.batches, c.events)
	return c
}

// CallbackBatch records one callback request.
func (m *Metrics) CallbackBatch(delivered, retry bool, events int) {
	if m == nil {
		return
	}
	result := "failed"
	if delivered {
		result = "delivered"
		m.callbacks.events.WithLabelValues("delivered").Add(float64(events))
	}
	r := "false"
	if retry {
		r = "true"
	}
	m.callbacks.batches.WithLabelValues(result, r).Inc()
}

// CallbackEventsDeferred records callback events put back for a retry.
func (m *Metrics) CallbackEventsDeferred(n int) {
	if m == nil {
		return
	}
	m.callbacks.events.WithLabelValues("deferred").Add(float64(n))
}

// CallbackEventsGivenUp records callback events dropped after their last attempt.
func (m *Metrics) CallbackEventsGivenUp(n int) {
	if m == nil {
		return
	}
	m.callbacks.events.WithLabelValues("given_up").Add(float64(n))
}
