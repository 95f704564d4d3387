//go:build linux

package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/siirto/siirto/internal/testserver"
)

// The gateway on real infrastructure (issue 5), run by `make bench`:
//
//	SIIRTO_BENCH_WORKERS_COUNT=300 go test -run '^$' -bench GatewayWorkers -benchtime 1x ./cmd/siirto-gateway
//	SIIRTO_BENCH_EVENTS_COUNT=100 go test -run '^$' -bench GatewayEvents -benchtime 1x ./cmd/siirto-gateway
//
// They print "bench:" lines; figures are reported, not asserted.

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkGatewayWorkers: bundles per second with 1, 2 and 3 gateway
// workers on one PostgreSQL and one MinIO bucket, and the scaling ratio.
// The bundles are uploaded first, then the workers started; the rate is
// taken between the first and the last notification, so that it measures
// the workers and not their start.
func BenchmarkGatewayWorkers(b *testing.B) {
	count := envInt("SIIRTO_BENCH_WORKERS_COUNT", 300)
	pg := testserver.Postgres(b)
	rates := map[int]float64{}
	for workers := 1; workers <= 3; workers++ {
		srv := testserver.MinIO(b)
		s3Env(b, srv)
		gs := workerSet(b, pg, srv, workers, "SIIRTO_GATEWAY_POLL=500ms")
		src, names := makeBundles(b, gs[0], "w", count, 1<<20)
		uploadBundles(b, s3Folder(b, srv), src, names, 8, 0)
		for _, g := range gs {
			g.start()
		}
		deadline := time.Now().Add(15 * time.Minute)
		var at []time.Time
		for {
			gs[0].hook.mu.Lock()
			at = append(at[:0], gs[0].hook.at...)
			gs[0].hook.mu.Unlock()
			if len(at) >= count || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(at) < count {
			b.Fatalf("%d workers: %d of %d bundles notified", workers, len(at), count)
		}
		sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
		took := at[len(at)-1].Sub(at[0])
		rates[workers] = float64(count-1) / took.Seconds()
		for _, g := range gs {
			g.stop()
		}
		fmt.Printf("bench: gateway-workers %d worker(s) on PostgreSQL and MinIO: %d bundles of 1 MiB in %.1fs: %.1f bundles/s\n",
			workers, count, took.Seconds(), rates[workers])
	}
	fmt.Printf("bench: gateway-workers scaling on %d cores: 2 workers %.2fx, 3 workers %.2fx of one worker\n",
		runtime.GOMAXPROCS(0), rates[2]/rates[1], rates[3]/rates[1])
}

// BenchmarkGatewayEvents: the time from a manifest landing in the S3
// inbox (MinIO) to the handlers' webhook notification, median and p99,
// with MinIO's webhook events on and off; the listing runs every 2 s
// (the default) in both. Bundles are uploaded 100 ms apart, so the
// figures are latency, not queueing.
func BenchmarkGatewayEvents(b *testing.B) {
	count := envInt("SIIRTO_BENCH_EVENTS_COUNT", 100)
	pg := testserver.Postgres(b)
	for _, on := range []bool{false, true} {
		relay := newEventRelay(b)
		var o testserver.S3Options
		env := []string{"SIIRTO_GATEWAY_POLL=2s"}
		if on {
			o.EventWebhook = relay.URL
			env = append(env, "SIIRTO_GATEWAY_INBOX_EVENTS=webhook")
		}
		srv := testserver.MinIOWith(b, o)
		s3Env(b, srv)
		g := workerSet(b, pg, srv, 1, env...)[0]
		src, names := makeBundles(b, g, "e", count, 64<<10)
		g.start()
		relay.forward(g)
		landed := uploadBundles(b, s3Folder(b, srv), src, names, 1, 100*time.Millisecond)
		deadline := time.Now().Add(5 * time.Minute)
		var lat []time.Duration
		for {
			lat, _ = latencies(g, landed)
			if len(lat) >= count || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		g.stop()
		if len(lat) < count {
			b.Fatalf("%d of %d bundles notified", len(lat), count)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		state := "off"
		if on {
			state = "on (MinIO webhook)"
		}
		fmt.Printf("bench: gateway-events %s, listing every 2s: %d bundles, manifest in S3 → notification median %v, p99 %v\n",
			state, count, lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond))
	}
}
