package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds Herald's collectors.
type Metrics struct {
	reg          *prometheus.Registry
	pushes       *prometheus.CounterVec
	pushSeconds  *prometheus.HistogramVec
	deliverDelay *prometheus.HistogramVec
	retries      *prometheus.CounterVec
	messages     *prometheus.CounterVec
	requests     *prometheus.CounterVec
	reqSeconds   *prometheus.HistogramVec
	callbacks    *callbackCollectors
}

// New makes the collectors on a fresh registry, with Go runtime and process
// metrics. db, if not nil, is read at scrape time for the job queue depth.
func New(db *sql.DB) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.pushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_pushes_total",
		Help: "Push attempts by channel and outcome (sent, failed, pruned, expired, retrying).",
	}, []string{"channel", "outcome"})
	m.pushSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "herald_push_duration_seconds",
		Help:    "Time for one push request to a push service, by channel.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"channel"})
	m.deliverDelay = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "herald_delivery_delay_seconds",
		Help:    "Time from a message being due (accepted or its send_at) to a push service accepting it, by channel.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900},
	}, []string{"channel"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_retries_total",
		Help: "Recipients put back for a retry, by channel and reason.",
	}, []string{"channel", "reason"})
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_messages_total",
		Help: "Messages accepted, by whether they were new or a repeated dedup id.",
	}, []string{"kind"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_http_requests_total",
		Help: "HTTP requests by route pattern and status code.",
	}, []string{"route", "code"})
	m.reqSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "herald_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	m.reg.MustRegister(m.pushes, m.pushSeconds, m.deliverDelay, m.retries, m.messages, m.requests, m.reqSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.callbacks = newCallbackCollectors(m.reg)
	if db != nil {
		m.reg.MustRegister(&queueCollector{db: db, desc: prometheus.NewDesc("herald_jobs",
			"Delivery jobs by queue and state (available, running, retryable, scheduled).", []string{"queue", "state"}, nil)})
	}
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Register mounts GET /metrics.
func (m *Metrics) Register(mux *http.ServeMux) {
	mux.Handle("GET /metrics", m.Handler())
}

// Push records one push attempt.
func (m *Metrics) Push(channel, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.pushes.WithLabelValues(channel, outcome).Inc()
	if outcome != "expired" {
		m.pushSeconds.WithLabelValues(channel).Observe(took.Seconds())
	}
}

// Delivered records how long after it was due a push was accepted.
func (m *Metrics) Delivered(channel string, delay time.Duration) {
	if m == nil {
		return
	}
	m.deliverDelay.WithLabelValues(channel).Observe(max(delay, 0).Seconds())
}

// Retry records a recipient put back for a retry.
func (m *Metrics) Retry(channel, reason string) {
	if m == nil {
		return
	}
	m.retries.WithLabelValues(channel, reason).Inc()
}

// Message records an accepted message.
func (m *Metrics) Message(duplicate bool) {
	if m == nil {
		return
	}
	kind := "new"
	if duplicate {
		kind = "duplicate"
	}
	m.messages.WithLabelValues(kind).Inc()
}

// Request records one HTTP request; route is the mux pattern that matched
// (bounded cardinality: never the raw path).
func (m *Metrics) Request(route string, code int, took time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.reqSeconds.WithLabelValues(route).Observe(took.Seconds())
}

// queueCollector reads River's job table at scrape time.
type queueCollector struct {
	db   *sql.DB
	desc *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := c.db.QueryContext(ctx, `SELECT queue, state, count(*) FROM river_job
		WHERE state IN ('available', 'running', 'retryable', 'scheduled') GROUP BY queue, state`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var q, st string
		var n float64
		if err := rows.Scan(&q, &st, &n); err != nil {
			ch <- prometheus.NewInvalidMetric(c.desc, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, q, st)
	}
}
