package testserver

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestMinIO puts, gets and lists an object on a fresh MinIO.
func TestMinIO(t *testing.T) {
	srv := MinIO(t)
	c := srv.Client()
	ctx := context.Background()
	const key, body = "folder/hello.txt", "hello, MinIO\n"
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &srv.Bucket, Key: aws.String(key), Body: strings.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
	}); err != nil {
		t.Fatalf("put: %v", err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &srv.Bucket, Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || string(got) != body {
		t.Fatalf("get: %q, %v; want %q", got, err, body)
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &srv.Bucket, Prefix: aws.String("folder/")})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != key || aws.ToInt64(list.Contents[0].Size) != int64(len(body)) {
		var keys []string
		for _, o := range list.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		t.Fatalf("list folder/: %q; want only %s (%d bytes)", keys, key, len(body))
	}
}
