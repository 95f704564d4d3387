package testserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// VersityGWBin is where scripts/tools.sh installs versitygw, relative to
// the module root.
const VersityGWBin = ".tools/bin/versitygw"

const (
	s3InstallHint = "run `bash scripts/tools.sh` (make test does), which builds versitygw into .tools/bin"
	s3Health      = "/siirto-health"
)

// S3Server is a running S3 server (versitygw, or MinIO), with one bucket
// and its root user.
type S3Server struct {
	Endpoint             string // http://127.0.0.1:PORT
	Bucket               string // an empty bucket
	AccessKey, SecretKey string // the root user's
	Region               string // us-east-1
	Root                 string // the folder the server keeps its data in: for versitygw the bucket is Root/Bucket, plain files; MinIO keeps objects in its own format
}

// S3 starts versitygw for the test with an empty bucket, stopped by
// t.Cleanup. With -short it skips. If versitygw is not installed it fails
// the test with a message naming scripts/tools.sh.
func S3(t testing.TB) *S3Server {
	t.Helper()
	if testing.Short() {
		t.Skip("testserver: versitygw (S3) is an integration server; skipped with -short")
	}
	bin, err := findVersityGW()
	if err != nil {
		t.Fatalf("testserver: versitygw is not installed (%v): %s", err, s3InstallHint)
	}
	return retryPort(t, func() (*S3Server, error) { return startS3(t, bin) })
}

func startS3(t testing.TB, bin string) (*S3Server, error) {
	dir, err := os.MkdirTemp("", "siirto-versitygw-")
	if err != nil {
		return nil, err
	}
	cleanDir := true
	defer func() {
		if cleanDir {
			os.RemoveAll(dir)
		}
	}()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &S3Server{
		Endpoint:  fmt.Sprintf("http://127.0.0.1:%d", port),
		Bucket:    "siirto-test",
		AccessKey: "siirto" + randomHex(t, 6),
		SecretKey: randomHex(t, 20),
		Region:    "us-east-1",
		Root:      root,
	}
	logPath := filepath.Join(dir, "versitygw.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()

	cmd := exec.Command(bin, "--port", fmt.Sprintf("127.0.0.1:%d", port), "--quiet",
		"--health", s3Health, "posix", root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %v", bin, err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	stop := func() {
		select {
		case <-done:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopWait):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	logTail := func() string {
		data, _ := os.ReadFile(logPath)
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 20 {
			lines = lines[len(lines)-20:]
		}
		return strings.Join(lines, "\n")
	}

	if err := waitS3(s, done, &waitErr); err != nil {
		stop()
		logs := logTail()
		if strings.Contains(logs, "address already in use") {
			return nil, fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return nil, fmt.Errorf("versitygw did not start: %v\n%s", err, logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startWait)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.Bucket}); err != nil {
		stop()
		return nil, fmt.Errorf("versitygw: create bucket %s: %v\n%s", s.Bucket, err, logTail())
	}
	cleanDir = false
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("testserver: versitygw log (%s):\n%s", s.Endpoint, logTail())
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("testserver: %v", err)
		}
	})
	return s, nil
}

// Client is an S3 client for the server, as its root user, for tests to
// set up and inspect what the code under test does.
func (s *S3Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:                     s.Region,
		BaseEndpoint:               aws.String(s.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// waitS3 waits until versitygw's health endpoint answers 200.
func waitS3(s *S3Server, done <-chan struct{}, waitErr *error) error {
	return waitHealthy("versitygw", s.Endpoint, s3Health, done, waitErr)
}

// waitHealthy waits until GET endpoint+path answers 200, or the server
// named name exits (done closed, its cmd.Wait result in *waitErr).
func waitHealthy(name, endpoint, path string, done <-chan struct{}, waitErr *error) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(startWait)
	last := errors.New("no answer yet")
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("%s exited: %v", name, *waitErr)
		default:
		}
		resp, err := client.Get(endpoint + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("GET %s: %s", path, resp.Status)
		} else {
			last = err
		}
		select {
		case <-done:
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready after %v: %v", startWait, last)
}

// findVersityGW looks for VersityGWBin under the module root (the nearest
// folder up from the working directory with a go.mod), then on PATH.
func findVersityGW() (string, error) { return findTool(VersityGWBin, "versitygw") }

// findTool looks for rel (a path like VersityGWBin) under the module root
// (the nearest folder up from the working directory with a go.mod), then
// for name on PATH.
func findTool(rel, name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			bin := filepath.Join(dir, filepath.FromSlash(rel))
			if _, err := os.Stat(bin); err == nil {
				return bin, nil
			}
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("not in %s nor on PATH", rel)
	}
	return bin, nil
}
