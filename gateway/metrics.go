package gateway

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/siirto/siirto/inbox"
)

// metrics are the gateway's Prometheus metrics, on a registry of its own
// (no global state). Bundles by state are read from the ledger at scrape
// time, so they are right after a restart too.
type metrics struct {
	reg        *prometheus.Registry
	processed  *prometheus.CounterVec
	payload    prometheus.Counter
	plaintext  prometheus.Counter
	duration   prometheus.Histogram
	latency    prometheus.Histogram
	logins     prometheus.Counter
	bans       prometheus.Counter
	uploads    prometheus.Counter
	uploadSize prometheus.Counter
	events     *prometheus.CounterVec
}

func newMetrics(ledger inbox.Ledger) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siirto_bundles_processed_total", Help: "Bundles staged (code=\"\") or rejected, by error code.",
		}, []string{"outcome", "code"}),
		payload:   prometheus.NewCounter(prometheus.CounterOpts{Name: "siirto_payload_bytes_total", Help: "Payload bytes of processed bundles."}),
		plaintext: prometheus.NewCounter(prometheus.CounterOpts{Name: "siirto_staged_bytes_total", Help: "Plaintext bytes staged."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "siirto_processing_seconds", Help: "From detection to staged or rejected.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "siirto_notify_latency_seconds", Help: "From detection to every notification delivered.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
		logins:     prometheus.NewCounter(prometheus.CounterOpts{Name: "siirto_login_failures_total", Help: "Failed WebDAV logins."}),
		bans:       prometheus.NewCounter(prometheus.CounterOpts{Name: "siirto_bans_total", Help: "Addresses banned after repeated login failures."}),
		uploads:    prometheus.NewCounter(prometheus.CounterOpts{Name: "siirto_uploads_total", Help: "Files stored through the embedded WebDAV."}),
		uploadSize: prometheus.NewCounter(prometheus.CounterOpts{Name: "siirto_upload_bytes_total", Help: "Bytes stored through the embedded WebDAV."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siirto_inbox_events_total", Help: "S3 event notifications received, by source (webhook, minio).",
		}, []string{"source"}),
	}
	m.reg.MustRegister(m.processed, m.payload, m.plaintext, m.duration, m.latency, m.logins, m.bans, m.uploads, m.uploadSize, m.events,
		stateCollector{ledger: ledger, desc: prometheus.NewDesc("siirto_bundles", "Bundles in the ledger by state.", []string{"state"}, nil)},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Processed implements inbox.Observer.
func (m *metrics) Processed(code string, payloadBytes, plaintextBytes int64, took time.Duration) {
	outcome := inbox.OutcomeAccepted
	if code != "" {
		outcome = inbox.OutcomeRejected
	}
	m.processed.WithLabelValues(outcome, code).Inc()
	m.payload.Add(float64(payloadBytes))
	m.plaintext.Add(float64(plaintextBytes))
	m.duration.Observe(took.Seconds())
}

// Notified implements inbox.Observer.
func (m *metrics) Notified(latency time.Duration) { m.latency.Observe(latency.Seconds()) }

type stateCollector struct {
	ledger inbox.Ledger
	desc   *prometheus.Desc
}

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.ledger.Counts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, s := range inbox.States {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}
