package gateway

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/inbox"
)

// Event sources that wake the pipeline between listings. They only speed
// things up: a listing every poll interval always runs, and catches
// whatever an event missed (MinIO's listen API, for one, delivers nothing
// in some builds).
const (
	// EventsWebhook serves POST /events/s3 for S3 event notifications
	// (MinIO, Ceph RGW and versitygw send them to a webhook target).
	EventsWebhook = "webhook"
	// EventsMinIO listens with MinIO's bucket-notification API.
	EventsMinIO = "minio"
)

// eventsPath is where S3 event notifications are posted.
const eventsPath = "/events/s3"

// s3Notification is the part of an S3 event notification that matters
// here: AWS, MinIO, Ceph and versitygw all send this shape.
type s3Notification struct {
	Records []struct {
		EventName string `json:"eventName"`
		S3        struct {
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// wakes reports whether a notification tells of a manifest written, the
// marker of a complete bundle. Object keys arrive URL-encoded.
func (n s3Notification) wakes() bool {
	for _, r := range n.Records {
		if r.EventName != "" && !strings.Contains(r.EventName, "ObjectCreated:") {
			continue
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			key = r.S3.Object.Key
		}
		if inbox.IsManifest(path.Base(key)) {
			return true
		}
	}
	return false
}

// s3Events takes S3 event notifications: each is counted, and one that
// tells of a manifest calls poke. Nothing in them is trusted: a manifest
// event only makes the pipeline list the inbox now (pokes coalesce, so a
// flood costs at most one listing at a time), which is why token ("" for
// none) is optional.
func s3Events(token string, count, poke func()) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if token != "" && !bearer(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="siirto-events"`)
			http.Error(w, "an events token is needed", http.StatusUnauthorized)
			return
		}
		var n s3Notification
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&n); err != nil {
			http.Error(w, "not an S3 event notification: "+err.Error(), http.StatusBadRequest)
			return
		}
		count()
		if n.wakes() {
			poke()
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// listenMinIO keeps MinIO's bucket-notification stream open on the S3
// inbox, waking the pipeline on every manifest written, until ctx ends.
// A broken stream is reopened after a pause.
func (s *server) listenMinIO(ctx context.Context, store clients.Store) error {
	s3s, ok := store.(*clients.S3)
	if !ok {
		return errors.New(`inbox events "minio" need an S3 inbox (s3://bucket/prefix)`)
	}
	a, err := s3s.Access(ctx)
	if err != nil {
		return err
	}
	u, err := url.Parse(a.Endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf(`inbox events "minio" need the MinIO server's endpoint (inbox.endpoint), not %q`, a.Endpoint)
	}
	mc, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(a.Credentials.AccessKeyID, a.Credentials.SecretAccessKey, a.Credentials.SessionToken),
		Secure: u.Scheme == "https", Region: a.Region,
	})
	if err != nil {
		return fmt.Errorf("minio events: %w", err)
	}
	go func() {
		pause := time.Second
		for ctx.Err() == nil {
			opened := time.Now()
			for info := range mc.ListenBucketNotification(ctx, a.Bucket, a.Prefix, ".json", []string{"s3:ObjectCreated:*"}) {
				if info.Err != nil {
					if ctx.Err() == nil {
						s.log.Warn("MinIO bucket notifications failed; listing still runs", "err", info.Err, "retry_in", pause)
					}
					break
				}
				s.metrics.events.WithLabelValues(EventsMinIO).Add(float64(len(info.Records)))
				s.pipeline.Poke()
			}
			if time.Since(opened) > time.Minute {
				pause = time.Second // it worked for a while: not a tight failure loop
			}
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
			pause = min(2*pause, time.Minute)
		}
	}()
	return nil
}

// bearer reports whether r carries "Authorization: Bearer token".
func bearer(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
