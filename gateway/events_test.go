package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestS3Events: which notifications wake the pipeline, and the token.
func TestS3Events(t *testing.T) {
	event := func(name, key string) string {
		return `{"EventName":"` + name + `","Key":"b/` + key + `","Records":[{"eventVersion":"2.0","eventSource":"minio:s3","eventName":"` + name +
			`","s3":{"bucket":{"name":"b"},"object":{"key":"` + key + `","size":2}}}]}`
	}
	for _, tc := range []struct {
		name, token, auth, body string
		status                  int
		poked                   bool
	}{
		{"minio manifest", "", "", event("s3:ObjectCreated:Put", "inbox/THL_1234/extract.json"), 204, true},
		{"aws manifest, encoded key", "", "", event("ObjectCreated:CompleteMultipartUpload", "inbox/THL_1234/my+extract%C3%A4.json"), 204, true},
		{"payload", "", "", event("s3:ObjectCreated:Put", "inbox/THL_1234/extract.c4gh"), 204, false},
		{"receipt", "", "", event("s3:ObjectCreated:Put", "inbox/THL_1234/extract.receipt.json"), 204, false},
		{"hidden temp", "", "", event("s3:ObjectCreated:Put", "inbox/THL_1234/.extract.json"), 204, false},
		{"removed manifest", "", "", event("s3:ObjectRemoved:Delete", "inbox/THL_1234/extract.json"), 204, false},
		{"versitygw test event", "", "", `{"Records":[{"eventName":"s3:TestEvent"}]}`, 204, false},
		{"not JSON", "", "", "<xml/>", 400, false},
		{"token right", "s3cret-token", "Bearer s3cret-token", event("s3:ObjectCreated:Put", "j/x.json"), 204, true},
		{"token wrong", "s3cret-token", "Bearer nope", event("s3:ObjectCreated:Put", "j/x.json"), 401, false},
		{"token missing", "s3cret-token", "", event("s3:ObjectCreated:Put", "j/x.json"), 401, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counted, poked := 0, false
			h := s3Events(tc.token, func() { counted++ }, func() { poked = true })
			req := httptest.NewRequest(http.MethodPost, eventsPath, strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h(rec, req)
			if rec.Code != tc.status || poked != tc.poked {
				t.Fatalf("status %d, poked %v; want %d, %v (%s)", rec.Code, poked, tc.status, tc.poked, rec.Body)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.status == 204]; counted != want {
				t.Fatalf("counted %d events; want %d", counted, want)
			}
		})
	}
}

// FuzzS3Notification: any body is either refused or read without panic.
func FuzzS3Notification(f *testing.F) {
	f.Add(`{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"object":{"key":"a/b.json"}}}]}`)
	f.Add(`{"Records":[{"s3":{"object":{"key":"%zz.json"}}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		h := s3Events("", func() {}, func() {})
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodPost, eventsPath, strings.NewReader(body)))
		if rec.Code != 204 && rec.Code != 400 {
			t.Fatalf("status %d", rec.Code)
		}
	})
}
