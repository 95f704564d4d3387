//go:build linux

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/internal/testserver"
	"github.com/siirto/siirto/verify"
)

// BenchmarkUploadVsRclone is the upload benchmark of `make bench`: on one
// generated input (SIIRTO_BENCH_UPLOAD, default 2GiB), against the same
// local servers, it times the real binary
//
//   - siirto upload of an encrypted bundle, and rclone copyto of the same
//     payload, to Apache WebDAV and to S3 (versitygw, and MinIO): target ≥ 1.0;
//   - siirto send of the input against siirto upload of the already
//     encrypted bundle: target ≤ 1.25 (encryption overlaps the network);
//
// and reports each command's peak RSS from its rusage. Ratios print as
// "bench:" lines; timing never fails the benchmark.
func BenchmarkUploadVsRclone(b *testing.B) {
	if _, err := exec.LookPath("rclone"); err != nil {
		b.Fatal("rclone is not installed: run bash scripts/services/install.sh")
	}
	size := int64(2 << 30)
	if s := os.Getenv("SIIRTO_BENCH_UPLOAD"); s != "" {
		n, err := parseBytes(s)
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "siirto")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	run := func(env []string, name string, args ...string) (time.Duration, int64) {
		b.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		for _, kv := range os.Environ() {
			// rclone 1.60 fails on AWS_CA_BUNDLE ("HTTPClient's transport
			// unsupported type"); the servers here are plain http anyway.
			if !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
		}
		return time.Since(start), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	}
	siirtoRun := func(env []string, args ...string) (time.Duration, int64) {
		return run(env, bin, append([]string{"--quiet"}, args...)...)
	}

	// The input: a ready zip of incompressible data, and its bundle.
	siirtoRun(nil, "keygen", "--no-passphrase", "authority")
	journal := "THL/1234/14.02.00/2023"
	folder, _ := verify.FolderName(journal)
	os.WriteFile(filepath.Join(dir, "journal_number.txt"), []byte(journal+"\n"), 0o644)
	if err := writeZip(filepath.Join(dir, "input.zip"), size); err != nil {
		b.Fatal(err)
	}
	siirtoRun(nil, "encrypt", "-r", "authority.pub", "-o", "bundle", "input.zip")
	payload := filepath.Join(dir, "bundle", "input.c4gh")
	st, _ := os.Stat(payload)
	gb := float64(st.Size()) / 1e9

	ctx := context.Background()
	// Each target: the store that sets up its journal folders, and how
	// siirto and rclone reach it.
	type target struct {
		name   string
		store  clients.Store
		env    []string                // siirto's credentials
		flags  []string                // siirto's flags to reach it
		to     func(dir string) string // siirto's --to for a folder
		rclone []string                // rclone copyto's flags to reach it
		remote string                  // rclone's remote, before the path
	}
	dav := testserver.Apache(b)
	obscured, err := exec.Command("rclone", "obscure", dav.Password).Output()
	if err != nil {
		b.Fatal(err)
	}
	targets := []target{{
		name:   "WebDAV",
		store:  clients.NewWebDAV(dav.URL, clients.Credentials{User: dav.User, Password: dav.Password}),
		env:    []string{"SIIRTO_PASSWORD=" + dav.Password},
		flags:  []string{"--user", dav.User},
		to:     func(dir string) string { return dav.URL + dir + "/" },
		rclone: []string{"--webdav-url", dav.URL, "--webdav-user", dav.User, "--webdav-pass", strings.TrimSpace(string(obscured))},
		remote: ":webdav:",
	}}
	// versitygw ("S3") and MinIO, the reference S3 server. Each store reads
	// its keys from the environment when it is made.
	for _, srv := range []struct {
		name, provider string
		s              *testserver.S3Server
	}{{"S3", "Other", testserver.S3(b)}, {"MinIO", "Minio", testserver.MinIO(b)}} {
		b.Setenv("AWS_ACCESS_KEY_ID", srv.s.AccessKey)
		b.Setenv("AWS_SECRET_ACCESS_KEY", srv.s.SecretKey)
		store, err := clients.NewS3(ctx, srv.s.Bucket, "", clients.S3Options{Endpoint: srv.s.Endpoint, Region: srv.s.Region})
		if err != nil {
			b.Fatal(err)
		}
		s3s := srv.s
		targets = append(targets, target{
			name:   srv.name,
			store:  store,
			env:    []string{"AWS_ACCESS_KEY_ID=" + s3s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3s.SecretKey},
			flags:  []string{"--endpoint", s3s.Endpoint},
			to:     func(dir string) string { return "s3://" + s3s.Bucket + "/" + dir + "/" },
			rclone: []string{"--s3-provider", srv.provider, "--s3-endpoint", s3s.Endpoint, "--s3-access-key-id", s3s.AccessKey, "--s3-secret-access-key", s3s.SecretKey, "--s3-region", s3s.Region},
			remote: ":s3:" + s3s.Bucket + "/",
		})
	}

	type row struct {
		name string
		d    time.Duration
		rss  int64
	}
	var rows []row
	for i := 0; i < b.N; i++ {
		// Each round gets fresh journal folders, so nothing is "already there".
		round := fmt.Sprintf("r%d", i)
		for _, tg := range targets {
			for _, sub := range []string{"", "/upload", "/send", "/upload/" + folder, "/send/" + folder} {
				tg.store.Mkdir(ctx, round+sub)
			}
			for _, sub := range []string{"/upload/", "/send/"} {
				tg.store.Put(ctx, round+sub+folder+"/"+verify.JournalFile, strings.NewReader(journal), int64(len(journal)))
			}
			// Every command starts on a quiet disk (settle).
			measure := func(what string, command func() (time.Duration, int64)) {
				settle()
				d, rss := command()
				rows = append(rows, row{what + ", " + tg.name, d, rss})
			}
			measure("siirto upload", func() (time.Duration, int64) {
				return siirtoRun(tg.env, append(append([]string{"upload"}, tg.flags...), "--to", tg.to(round+"/upload/"+folder), "bundle/input.json")...)
			})
			measure("rclone copyto", func() (time.Duration, int64) {
				return run(nil, "rclone", append(append([]string{"copyto"}, tg.rclone...), payload, tg.remote+round+"/rclone.c4gh")...)
			})
			measure("siirto send", func() (time.Duration, int64) {
				return siirtoRun(tg.env, append(append([]string{"send"}, tg.flags...), "--to", tg.to(round+"/send/"+folder), "-r", "authority.pub", "input.zip")...)
			})
		}
	}
	b.StopTimer()

	// Best run of each, as in the other benchmarks.
	best := map[string]row{}
	var order []string
	for _, r := range rows {
		if old, ok := best[r.name]; !ok || r.d < old.d {
			if !ok {
				order = append(order, r.name)
			}
			best[r.name] = r
		}
	}
	fmt.Printf("bench: upload of %.2f GB (best of %d)\n", gb, b.N)
	for _, n := range order {
		r := best[n]
		fmt.Printf("bench: %-24s %7.2f s %7.3f GB/s  peak RSS %6.1f MiB\n", n, r.d.Seconds(), gb/r.d.Seconds(), float64(r.rss)/(1<<20))
	}
	ratio := func(what string, a, c string, target float64, atLeast bool) {
		v := best[a].d.Seconds() / best[c].d.Seconds()
		if atLeast {
			v = best[c].d.Seconds() / best[a].d.Seconds() // throughput ratio
		}
		verdict := "meets target"
		if atLeast && v < target || !atLeast && v > target {
			verdict = "BELOW target"
		}
		cmp := "≤"
		if atLeast {
			cmp = "≥"
		}
		fmt.Printf("bench: %-40s %5.2f  %s %.2f  %s\n", what, v, cmp, target, verdict)
	}
	for _, tg := range targets {
		ratio("upload/rclone throughput, "+tg.name, "siirto upload, "+tg.name, "rclone copyto, "+tg.name, 1.0, true)
	}
	for _, tg := range targets {
		ratio("send/upload wall time, "+tg.name, "siirto send, "+tg.name, "siirto upload, "+tg.name, 1.25, false)
	}
	b.ReportMetric(gb/best["siirto upload, S3"].d.Seconds(), "GB/s-upload-s3")
}

// writeZip writes a ready zip of size bytes of incompressible data.
func writeZip(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "extract.bin", Method: zip.Store})
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{9})
	buf := make([]byte, 4<<20)
	for left := size; left > 0; left -= int64(len(buf)) {
		n := min(int64(len(buf)), left)
		rng.Read(buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
	}
	return zw.Close()
}

// parseBytes reads 2GiB, 512MiB or a plain number of bytes.
func parseBytes(s string) (int64, error) {
	for unit, mult := range map[string]int64{"GiB": 1 << 30, "MiB": 1 << 20} {
		if n, ok := strings.CutSuffix(s, unit); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * mult, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// settle flushes written data, so no command pays for another's writeback.
func settle() { syscall.Sync() }
