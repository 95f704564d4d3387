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
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
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
func MinIO(t testing.TB) *S3Server { return MinIOWith(t, S3Options{}) }

// MinIOWith starts MinIO as MinIO does, with o: an EventWebhook is
// MinIO's webhook target PRIMARY, and the bucket sends it every object
// created (MinIO's listen API is not used: it delivers nothing in current
// builds).
func MinIOWith(t testing.TB, o S3Options) *S3Server {
	t.Helper()
	find := func() (string, error) { return findTool(MinIOBin, "minio") }
	return launch(t, "minio", find, minioInstallHint, func(t testing.TB, bin, dir string) (*S3Server, error) {
		return startMinIO(t, bin, dir, o)
	})
}

func startMinIO(t testing.TB, bin, dir string, o S3Options) (*S3Server, error) {
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
	if o.EventWebhook != "" {
		cmd.Env = append(cmd.Env, "MINIO_NOTIFY_WEBHOOK_ENABLE_PRIMARY=on", "MINIO_NOTIFY_WEBHOOK_ENDPOINT_PRIMARY="+o.EventWebhook)
	}
	s, err := spawn("minio", dir, "", cmd)
	if err != nil {
		return nil, err
	}
	if err := s3s.ready(s, minioReady); err != nil {
		return nil, err
	}
	if o.EventWebhook != "" {
		ctx, cancel := context.WithTimeout(context.Background(), startWait)
		defer cancel()
		// MinIO sets its notification targets up after it answers: until
		// then it refuses the target's ARN ("does not exist"), so ask again
		// for a while.
		var err error
		for {
			_, err = s3s.Client().PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
				Bucket: &s3s.Bucket,
				NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
					QueueArn: aws.String("arn:minio:sqs::PRIMARY:webhook"),
					Events:   []types.Event{types.EventS3ObjectCreated},
				}}},
			})
			if err == nil || !strings.Contains(err.Error(), "destination ARN does not exist") || ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			_ = s.stop()
			return nil, fmt.Errorf("minio: bucket notifications: %v\n%s", err, s.logTail())
		}
	}
	s.stopAtCleanup(t, s3s.Endpoint)
	return s3s, nil
}
