package notify

import (
	"strconv"
	"testing"
	"time"
)

// FuzzVerifySignature: the signature header parser never panics and
// never accepts a signature made with another secret or for another body.
func FuzzVerifySignature(f *testing.F) {
	secret := []byte("a secret of at least sixteen bytes")
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	f.Add(ts, []byte(`{"event":"bundle.staged"}`), sign(secret, ts, []byte(`{"event":"bundle.staged"}`)))
	f.Add(ts, []byte(`{}`), "sha256=")
	f.Add("", []byte{}, "sha256=zz")
	f.Fuzz(func(t *testing.T, timestamp string, body []byte, header string) {
		err := VerifySignature(secret, timestamp, body, header, time.Hour)
		if err == nil && header != sign(secret, timestamp, body) {
			t.Fatalf("accepted %q for a body it does not sign", header)
		}
		if VerifySignature([]byte("another secret, sixteen+ bytes"), timestamp, body, header, time.Hour) == nil &&
			header == sign(secret, timestamp, body) {
			t.Fatal("a signature verified under another secret")
		}
	})
}
