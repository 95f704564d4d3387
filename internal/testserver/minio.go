package testserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MinIOBin is where scripts/tools.sh installs MinIO, relative to the
// module root.
const MinIOBin = ".tools/bin/minio"

const (
	minioInstallHint = "run `bash scripts/tools.sh` (make test does), which builds minio into .tools/bin"
	minioReady       = "/minio/health/ready"
)

// MinIO starts a MinIO server for the test with an empty bucket, stopped
// by t.Cleanup: the reference S3 server, beside versitygw. It runs one
// drive in Root, where objects are kept in MinIO's own format (not as
// plain files), so inspect them through Client. With -short it skips. If
// MinIO is not installed it fails the test with a message naming
// scripts/tools.sh.
//
// It makes no outbound connection: no update check, no call-home, no
// console.
func MinIO(t testing.TB) *S3Server {
	t.Helper()
	if testing.Short() {
		t.Skip("testserver: MinIO (S3) is an integration server; skipped with -short")
	}
	bin, err := findTool(MinIOBin, "minio")
	if err != nil {
		t.Fatalf("testserver: minio is not installed (%v): %s", err, minioInstallHint)
	}
	return retryPort(t, func() (*S3Server, error) { return startMinIO(t, bin) })
}

func startMinIO(t testing.TB, bin string) (*S3Server, error) {
	dir, err := os.MkdirTemp("", "siirto-minio-")
	if err != nil {
		return nil, err
	}
	cleanDir := true
	defer func() {
		if cleanDir {
			os.RemoveAll(dir)
		}
	}()
	root := filepath.Join(dir, "data")
	for _, d := range []string{filepath.Join(dir, "logs"), filepath.Join(dir, "certs"), root} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	consolePort, err := freePort()
	if err != nil {
		return nil, err
	}
	s3s := &S3Server{
		Endpoint:  fmt.Sprintf("http://127.0.0.1:%d", port),
		Bucket:    "siirto-test",
		AccessKey: "siirto" + randomHex(t, 6),
		SecretKey: randomHex(t, 16), // MinIO wants 8 to 40 characters
		Region:    "us-east-1",
		Root:      root,
	}
	stderr, err := os.Create(filepath.Join(dir, "logs", "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	s := &server{name: "minio", dir: dir, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "server", root,
		"--address", "127.0.0.1:"+strconv.Itoa(port),
		"--console-address", "127.0.0.1:"+strconv.Itoa(consolePort),
		// Not ~/.minio/certs: nothing from the developer's own set-up takes part.
		"--certs-dir", filepath.Join(dir, "certs"),
		"--quiet") // also skips the update check at start
	s.cmd.Env = append(minioEnv(),
		"MINIO_ROOT_USER="+s3s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s3s.SecretKey,
		"MINIO_SITE_REGION="+s3s.Region,
		"MINIO_BROWSER=off",         // no console server
		"MINIO_UPDATE=off",          // no update checks
		"MINIO_CALLHOME_ENABLE=off", // no diagnostics sent home
	)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = stderr, stderr
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %v", bin, err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()

	if err := waitHealthy("minio", s3s.Endpoint, minioReady, s.done, &s.err); err != nil {
		_ = s.stop()
		logs := s.logTail()
		if strings.Contains(strings.ToLower(logs), "already in use") {
			return nil, fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return nil, fmt.Errorf("minio did not start: %v\n%s", err, logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startWait)
	defer cancel()
	if _, err := s3s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s3s.Bucket}); err != nil {
		_ = s.stop()
		return nil, fmt.Errorf("minio: create bucket %s: %v\n%s", s3s.Bucket, err, s.logTail())
	}
	cleanDir = false
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("testserver: stopping minio: %v", err)
		}
		if t.Failed() {
			t.Logf("testserver: minio log (%s):\n%s", s3s.Endpoint, s.logTail())
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("testserver: %v", err)
		}
	})
	return s3s, nil
}

// minioEnv is the environment without MINIO_* variables, which would
// otherwise change how the server behaves (MINIO_KMS_*, MINIO_NOTIFY_*, say).
func minioEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k := strings.ToUpper(kv); !strings.HasPrefix(k, "MINIO_") && !strings.HasPrefix(k, "_MINIO_") {
			env = append(env, kv)
		}
	}
	return env
}
