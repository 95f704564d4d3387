//go:build linux

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// The gateway's performance targets (issue 4), run by `make bench`:
//
//	SIIRTO_BENCH_GATEWAY_SIZE=2GiB go test -run '^$' -bench GatewayStage ./cmd/siirto-gateway
//	SIIRTO_BENCH_GATEWAY_COUNT=500 go test -run '^$' -bench GatewayMany ./cmd/siirto-gateway
//
// They print "bench:" lines; targets are reported, not asserted.

// BenchmarkGatewayStage: decrypt, verify and stage one large bundle,
// against `siirto decrypt -o -` of the same bundle into /dev/null, side by
// side; and the gateway's peak RSS meanwhile.
func BenchmarkGatewayStage(b *testing.B) {
	size := envSize(b, "SIIRTO_BENCH_GATEWAY_SIZE", 2<<30)
	g := newGateway(b, "SIIRTO_GATEWAY_WORKERS=1")
	work := b.TempDir()
	zipPath := filepath.Join(work, "bench.zip")
	if out, err := exec.Command("go", "run", "../siirto-bench", "-generate", zipPath, "-size", strconv.FormatInt(size, 10)).CombinedOutput(); err != nil {
		b.Fatalf("generate: %v\n%s", err, out)
	}
	out := filepath.Join(work, "out")
	if o, err := siirto(b, "--quiet", "encrypt", "--recipient", filepath.Join(g.dir, "keys", "gateway.pub"),
		"--journal", filepath.Join(g.dir, "inbox", folder, "journal_number.txt"), "--out", out, zipPath); err != nil {
		b.Fatalf("encrypt: %v\n%s", err, o)
	}
	os.Remove(zipPath)
	g.start()
	pass := writePass(b)
	for i := 0; i < b.N; i++ {
		// The baseline: siirto decrypt into /dev/null, checking both sums.
		start := time.Now()
		cmd := exec.Command(bin(b, "siirto"), "--quiet", "decrypt", "--key", filepath.Join(g.dir, "keys", "gateway.sec"), "-o", "-", filepath.Join(out, "bench.json"))
		cmd.Env = append(os.Environ(), "SIIRTO_PASSPHRASE_FILE="+filepath.Join(g.dir, "secrets", "key-passphrase"))
		devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = devnull, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("siirto decrypt: %v %s", err, stderr.String())
		}
		devnull.Close()
		base := time.Since(start)

		// The gateway: the payload is linked into the journal folder (an
		// upload of 2 GiB would measure the network, not the gateway), the
		// manifest is PUT over WebDAV, which pokes the pipeline.
		name := fmt.Sprintf("bench%d", i)
		dir := filepath.Join(g.dir, "inbox", folder)
		if err := os.Link(filepath.Join(out, "bench.c4gh"), filepath.Join(dir, name+".c4gh")); err != nil {
			b.Fatal(err)
		}
		manifest := renamedManifest(b, filepath.Join(out, "bench.json"), name)
		id := sha256.Sum256(manifest)
		start = time.Now()
		putFile(b, g.folderURL()+name+".json", pass, manifest)
		waitAudit(b, g, hex.EncodeToString(id[:]), `"state":"staged"`, 10*time.Minute)
		took := time.Since(start)
		hwm := peakRSS(b, g.cmd.Process.Pid)
		gbps := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e9 }
		ratio := base.Seconds() / took.Seconds()
		verdict := "meets target"
		if ratio < 0.7 {
			verdict = "BELOW target"
		}
		fmt.Printf("bench: gateway-stage %s: siirto decrypt %.2f GB/s (%.1fs), gateway verify+decrypt+stage %.2f GB/s (%.1fs): ratio %.2f (target ≥ 0.70: %s)\n",
			human(size), gbps(base), base.Seconds(), gbps(took), took.Seconds(), ratio, verdict)
		verdict = "meets target"
		if hwm > 128<<20 {
			verdict = "OVER target"
		}
		fmt.Printf("bench: gateway peak RSS %.1f MiB (target ≤ 128 MiB: %s)\n", float64(hwm)/(1<<20), verdict)
	}
	g.stop()
}

// renamedManifest is a bundle's manifest for the same payload under
// another bundle name (the payload's SHA-256 does not depend on the name).
func renamedManifest(b testing.TB, path, name string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := verify.ParseManifest(data)
	if err != nil {
		b.Fatal(err)
	}
	m.Payload.Name, m.Plaintext.Name = encrypt.PayloadName(name), name+".zip"
	out, err := m.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func putFile(b testing.TB, url, passFile string, data []byte) {
	pw, _ := os.ReadFile(passFile)
	req, _ := http.NewRequest("PUT", url, bytes.NewReader(data))
	req.SetBasicAuth("alice", strings.TrimSpace(string(pw)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b.Fatalf("PUT %s: %s", url, resp.Status)
	}
}

func waitAudit(b testing.TB, g *gw, id, want string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	path := filepath.Join(g.dir, "audit", "audit.log")
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(path)
		for _, line := range bytes.Split(data, []byte("\n")) {
			if bytes.Contains(line, []byte(id)) && bytes.Contains(line, []byte(want)) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("no audit entry %s for %s after %v:\n%s", want, id, timeout, g.log.String())
}

// peakRSS is the process's high-water mark of resident memory.
func peakRSS(b testing.TB, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

// BenchmarkGatewayMany: many small bundles uploaded back to back over
// WebDAV with the client's store; the time from each manifest's upload to
// its webhook notification, and bundles per second.
func BenchmarkGatewayMany(b *testing.B) {
	count := 500
	if v := os.Getenv("SIIRTO_BENCH_GATEWAY_COUNT"); v != "" {
		count, _ = strconv.Atoi(v)
	}
	g := newGateway(b)
	work := b.TempDir()
	zipPath := filepath.Join(work, "small.zip")
	writeRandomZip(b, zipPath, 1<<20)
	pk := g.publicKey()
	ctx := context.Background()
	for i := range count {
		if _, err := encrypt.WriteBundle(ctx, encrypt.BundleOptions{Name: fmt.Sprintf("b%04d", i), JournalNumber: journal,
			Zip: zipPath, Recipients: []encrypt.PublicKey{pk}, OutDir: work, Tool: encrypt.Tool{Name: "siirto-bench", Version: "dev"}}); err != nil {
			b.Fatal(err)
		}
	}
	g.start()
	pw, _ := os.ReadFile(writePass(b))
	store, err := clients.OpenWith(ctx, g.folderURL(), clients.OpenOptions{Credentials: clients.Credentials{User: "alice", Password: strings.TrimSpace(string(pw))}})
	if err != nil {
		b.Fatal(err)
	}
	for n := 0; n < b.N; n++ {
		uploaded := map[string]time.Time{}
		first := time.Now()
		for i := range count {
			name := fmt.Sprintf("b%04d", i)
			if n > 0 {
				name = fmt.Sprintf("r%d-%04d", n, i)
			}
			payload, err := os.Open(filepath.Join(work, fmt.Sprintf("b%04d.c4gh", i)))
			if err != nil {
				b.Fatal(err)
			}
			info, _ := payload.Stat()
			if err := store.Put(ctx, name+".c4gh", payload, info.Size()); err != nil {
				b.Fatal(err)
			}
			payload.Close()
			manifest := renamedManifest(b, filepath.Join(work, fmt.Sprintf("b%04d.json", i)), name)
			sum := sha256.Sum256(manifest)
			if err := store.Put(ctx, name+".json", bytes.NewReader(manifest), int64(len(manifest))); err != nil {
				b.Fatal(err)
			}
			uploaded[hex.EncodeToString(sum[:])] = time.Now()
		}
		uploadTook := time.Since(first)
		deadline := time.Now().Add(10 * time.Minute)
		var lat []time.Duration
		var last time.Time
		for {
			lat, last = latencies(g, uploaded)
			if len(lat) >= count || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(lat) < count {
			b.Fatalf("%d of %d bundles notified", len(lat), count)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		median, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
		verdict := "meets target"
		if median >= 2*time.Second {
			verdict = "BELOW target"
		}
		total := last.Sub(first)
		fmt.Printf("bench: gateway-many %d bundles of 1 MiB: uploads took %.1fs, all notified after %.1fs: %.1f bundles/s; manifest upload → notification median %v, p99 %v (target median < 2s: %s)\n",
			count, uploadTook.Seconds(), total.Seconds(), float64(count)/total.Seconds(), median.Round(time.Millisecond), p99.Round(time.Millisecond), verdict)
	}
	g.stop()
}

// latencies pairs webhook arrivals with manifest upload times.
func latencies(g *gw, uploaded map[string]time.Time) ([]time.Duration, time.Time) {
	g.hook.mu.Lock()
	defer g.hook.mu.Unlock()
	var out []time.Duration
	var last time.Time
	for i, p := range g.hook.got {
		if t, ok := uploaded[p.ID]; ok {
			at := g.hook.at[i]
			out = append(out, at.Sub(t))
			if at.After(last) {
				last = at
			}
		}
	}
	return out, last
}

func writeRandomZip(b testing.TB, path string, size int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "data.bin", Method: zip.Store})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(w, rand.Reader, size); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

func envSize(b testing.TB, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	units := map[string]int64{"GiB": 1 << 30, "MiB": 1 << 20, "KiB": 1 << 10}
	for u, m := range units {
		if n, ok := strings.CutSuffix(v, u); ok {
			x, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return x * m
		}
	}
	x, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return x
}

func human(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
