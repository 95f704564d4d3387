package testserver

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

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
func S3(t testing.TB) *S3Server { return S3With(t, S3Options{}) }

// S3Options start an S3 server with more than the defaults.
type S3Options struct {
	// EventWebhook, when set, is where the server posts an S3 event
	// notification for every object written (versitygw's
	// --event-webhook-url; MinIO's webhook target, set on the bucket).
	// versitygw posts a test event at start and refuses to start if
	// nothing listens there.
	EventWebhook string
}

// S3With starts versitygw as S3 does, with o.
func S3With(t testing.TB, o S3Options) *S3Server {
	t.Helper()
	find := func() (string, error) { return findTool(VersityGWBin, "versitygw") }
	return launch(t, "versitygw", find, s3InstallHint, func(t testing.TB, bin, dir string) (*S3Server, error) {
		return startS3(t, bin, dir, o)
	})
}

func startS3(t testing.TB, bin, dir string, o S3Options) (*S3Server, error) {
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s3s := &S3Server{
		Endpoint:  fmt.Sprintf("http://127.0.0.1:%d", port),
		Bucket:    "siirto-test",
		AccessKey: "siirto" + randomHex(t, 6),
		SecretKey: randomHex(t, 20),
		Region:    "us-east-1",
		Root:      root,
	}
	args := []string{"--port", fmt.Sprintf("127.0.0.1:%d", port), "--quiet", "--health", s3Health}
	if o.EventWebhook != "" {
		args = append(args, "--event-webhook-url", o.EventWebhook)
	}
	cmd := exec.Command(bin, append(args, "posix", root)...)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s3s.AccessKey, "ROOT_SECRET_KEY="+s3s.SecretKey)
	s, err := spawn("versitygw", dir, "", cmd)
	if err != nil {
		return nil, err
	}
	if err := s3s.ready(s, s3Health); err != nil {
		return nil, err
	}
	s.stopAtCleanup(t, s3s.Endpoint)
	return s3s, nil
}

// ready waits until the server's health endpoint answers 200, then makes
// the bucket.
func (s3s *S3Server) ready(s *server, health string) error {
	req, err := http.NewRequest(http.MethodGet, s3s.Endpoint+health, nil)
	if err != nil {
		return err
	}
	if err := s.waitFor(answers(req, http.StatusOK)); err != nil {
		return s.failed(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startWait)
	defer cancel()
	if _, err := s3s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s3s.Bucket}); err != nil {
		_ = s.stop()
		return fmt.Errorf("%s: create bucket %s: %v\n%s", s.name, s3s.Bucket, err, s.logTail())
	}
	return nil
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
