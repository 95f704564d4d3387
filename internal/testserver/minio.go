package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
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
	find := func() (string, error) { return findTool(MinIOBin, "minio") }
	return launch(t, "minio", find, minioInstallHint, startMinIO)
}

func startMinIO(t testing.TB, bin, dir string) (*S3Server, error) {
	root := filepath.Join(dir, "data")
	for _, d := range []string{filepath.Join(dir, "certs"), root} {
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
	cmd := exec.Command(bin, "server", root,
		"--address", "127.0.0.1:"+strconv.Itoa(port),
		"--console-address", "127.0.0.1:"+strconv.Itoa(consolePort),
		// Not ~/.minio/certs: nothing from the developer's own set-up takes part.
		"--certs-dir", filepath.Join(dir, "certs"),
		"--quiet") // also skips the update check at start
	cmd.Env = append(envWithout("MINIO_", "_MINIO_"),
		"MINIO_ROOT_USER="+s3s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s3s.SecretKey,
		"MINIO_SITE_REGION="+s3s.Region,
		"MINIO_BROWSER=off",         // no console server
		"MINIO_UPDATE=off",          // no update checks
		"MINIO_CALLHOME_ENABLE=off", // no diagnostics sent home
	)
	s, err := spawn("minio", dir, "", cmd)
	if err != nil {
		return nil, err
	}
	if err := s3s.ready(s, minioReady); err != nil {
		return nil, err
	}
	s.stopAtCleanup(t, s3s.Endpoint)
	return s3s, nil
}
