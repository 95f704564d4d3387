package testserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

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

// TestEventWebhooks: versitygw and MinIO post an S3 event notification
// naming the object to their webhook when an object is written.
func TestEventWebhooks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB, S3Options) *S3Server
	}{{"versitygw", S3With}, {"minio", MinIOWith}} {
		t.Run(tc.name, func(t *testing.T) {
			keys := make(chan string, 16)
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var n struct {
					Records []struct {
						S3 struct {
							Object struct{ Key string } `json:"object"`
						} `json:"s3"`
					}
				}
				if err := json.NewDecoder(r.Body).Decode(&n); err == nil {
					for _, rec := range n.Records {
						keys <- rec.S3.Object.Key
					}
				}
			}))
			defer hook.Close()
			srv := tc.start(t, S3Options{EventWebhook: hook.URL + "/events"})
			const key, body = "journal/bundle.c4gh.json", "{}"
			if _, err := srv.Client().PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: &srv.Bucket, Key: aws.String(key), Body: strings.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
			}); err != nil {
				t.Fatalf("put: %v", err)
			}
			deadline := time.After(10 * time.Second)
			for {
				select {
				case k := <-keys:
					if u, _ := url.QueryUnescape(k); u == key {
						return
					}
				case <-deadline:
					t.Fatalf("no event for %s within 10 s", key)
				}
			}
		})
	}
}
