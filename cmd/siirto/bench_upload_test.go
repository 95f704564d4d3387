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
	dav := testserver.Apache(b)
	davStore := clients.NewWebDAV(dav.URL, clients.Credentials{User: dav.User, Password: dav.Password})
	s3srv := testserver.S3(b)
	b.Setenv("AWS_ACCESS_KEY_ID", s3srv.AccessKey)
	b.Setenv("AWS_SECRET_ACCESS_KEY", s3srv.SecretKey)
	s3Store, err := clients.NewS3(ctx, s3srv.Bucket, "", clients.S3Options{Endpoint: s3srv.Endpoint, Region: s3srv.Region})
	if err != nil {
		b.Fatal(err)
	}
	// MinIO, the reference S3 server. Its store reads its own keys: the
	// SDK takes them from the environment when the store is made.
	minio := testserver.MinIO(b)
	b.Setenv("AWS_ACCESS_KEY_ID", minio.AccessKey)
	b.Setenv("AWS_SECRET_ACCESS_KEY", minio.SecretKey)
	minioStore, err := clients.NewS3(ctx, minio.Bucket, "", clients.S3Options{Endpoint: minio.Endpoint, Region: minio.Region})
	if err != nil {
		b.Fatal(err)
	}
	obscured, err := exec.Command("rclone", "obscure", dav.Password).Output()
	if err != nil {
		b.Fatal(err)
	}
	davEnv := []string{"SIIRTO_PASSWORD=" + dav.Password}
	s3Env := []string{"AWS_ACCESS_KEY_ID=" + s3srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3srv.SecretKey}
	minioEnv := []string{"AWS_ACCESS_KEY_ID=" + minio.AccessKey, "AWS_SECRET_ACCESS_KEY=" + minio.SecretKey}

	type row struct {
		name string
		d    time.Duration
		rss  int64
	}
	var rows []row
	for i := 0; i < b.N; i++ {
		// Each round gets fresh journal folders, so nothing is "already there".
		round := fmt.Sprintf("r%d", i)
		for _, s := range []clients.Store{davStore, s3Store, minioStore} {
			s.Mkdir(ctx, round)
			for _, sub := range []string{"/upload", "/send"} {
				s.Mkdir(ctx, round+sub)
				s.Mkdir(ctx, round+sub+"/"+folder)
				s.Put(ctx, round+sub+"/"+folder+"/"+verify.JournalFile, strings.NewReader(journal), int64(len(journal)))
			}
		}
		settle()
		d, rss := siirtoRun(davEnv, "upload", "--user", dav.User, "--to", dav.URL+round+"/upload/"+folder+"/", "bundle/input.json")
		rows = append(rows, row{"siirto upload, WebDAV", d, rss})
		settle()
		d, rss = run(nil, "rclone", "copyto", "--webdav-url", dav.URL, "--webdav-user", dav.User, "--webdav-pass", strings.TrimSpace(string(obscured)),
			payload, ":webdav:"+round+"/rclone.c4gh")
		rows = append(rows, row{"rclone copyto, WebDAV", d, rss})
		settle()
		d, rss = siirtoRun(davEnv, "send", "--user", dav.User, "--to", dav.URL+round+"/send/"+folder+"/", "-r", "authority.pub", "input.zip")
		rows = append(rows, row{"siirto send, WebDAV", d, rss})
		settle()
		d, rss = siirtoRun(s3Env, "upload", "--endpoint", s3srv.Endpoint, "--to", "s3://"+s3srv.Bucket+"/"+round+"/upload/"+folder+"/", "bundle/input.json")
		rows = append(rows, row{"siirto upload, S3", d, rss})
		settle()
		d, rss = run(nil, "rclone", "copyto", "--s3-provider", "Other", "--s3-endpoint", s3srv.Endpoint, "--s3-access-key-id", s3srv.AccessKey,
			"--s3-secret-access-key", s3srv.SecretKey, "--s3-region", s3srv.Region, payload, ":s3:"+s3srv.Bucket+"/"+round+"/rclone.c4gh")
		rows = append(rows, row{"rclone copyto, S3", d, rss})
		settle()
		d, rss = siirtoRun(s3Env, "send", "--endpoint", s3srv.Endpoint, "--to", "s3://"+s3srv.Bucket+"/"+round+"/send/"+folder+"/", "-r", "authority.pub", "input.zip")
		rows = append(rows, row{"siirto send, S3", d, rss})
		settle()
		d, rss = siirtoRun(minioEnv, "upload", "--endpoint", minio.Endpoint, "--to", "s3://"+minio.Bucket+"/"+round+"/upload/"+folder+"/", "bundle/input.json")
		rows = append(rows, row{"siirto upload, MinIO", d, rss})
		settle()
		d, rss = run(nil, "rclone", "copyto", "--s3-provider", "Minio", "--s3-endpoint", minio.Endpoint, "--s3-access-key-id", minio.AccessKey,
			"--s3-secret-access-key", minio.SecretKey, "--s3-region", minio.Region, payload, ":s3:"+minio.Bucket+"/"+round+"/rclone.c4gh")
		rows = append(rows, row{"rclone copyto, MinIO", d, rss})
		settle()
		d, rss = siirtoRun(minioEnv, "send", "--endpoint", minio.Endpoint, "--to", "s3://"+minio.Bucket+"/"+round+"/send/"+folder+"/", "-r", "authority.pub", "input.zip")
		rows = append(rows, row{"siirto send, MinIO", d, rss})
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
	ratio("upload/rclone throughput, WebDAV", "siirto upload, WebDAV", "rclone copyto, WebDAV", 1.0, true)
	ratio("upload/rclone throughput, S3", "siirto upload, S3", "rclone copyto, S3", 1.0, true)
	ratio("upload/rclone throughput, MinIO", "siirto upload, MinIO", "rclone copyto, MinIO", 1.0, true)
	ratio("send/upload wall time, WebDAV", "siirto send, WebDAV", "siirto upload, WebDAV", 1.25, false)
	ratio("send/upload wall time, S3", "siirto send, S3", "siirto upload, S3", 1.25, false)
	ratio("send/upload wall time, MinIO", "siirto send, MinIO", "siirto upload, MinIO", 1.25, false)
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
