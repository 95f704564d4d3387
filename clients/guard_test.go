package clients

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestTargetErrorsHidePasswords(t *testing.T) {
	for _, target := range []string{"https://alice:S3cretPw@host:badport/x/", "ftp://alice:S3cretPw@host/x/", "https://alice:S3cretPw@host/x/"} {
		_, err := Open(target, Credentials{})
		if err == nil || !errors.Is(err, ErrTarget) {
			t.Errorf("%s: got %v, want ErrTarget", target, err)
		}
		if err != nil && strings.Contains(err.Error(), "S3cretPw") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}

func TestPermanentNetworkErrors(t *testing.T) {
	wrap := func(e error) error { return &networkError{op: "put", path: "x", err: fmt.Errorf("dial: %w", e)} }
	for _, e := range []error{x509.UnknownAuthorityError{}, &net.DNSError{Err: "no such host", IsNotFound: true}} {
		if Temporary(wrap(e)) {
			t.Errorf("%T is retried, but a retry cannot mend it", e)
		}
	}
	if !Temporary(wrap(errors.New("connection reset by peer"))) {
		t.Error("a reset connection is worth retrying")
	}
	if Temporary(fmt.Errorf("%w: bytes differ", ErrSourceChanged)) {
		t.Error("changed source data is retried")
	}
}

type failIfCalled struct{ t *testing.T }

func (f failIfCalled) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Fatalf("a request to %s went out", r.URL)
	return nil, nil
}

func TestNoDowngrade(t *testing.T) {
	guard := noDowngrade{next: failIfCalled{t}, https: true}
	req, _ := http.NewRequest(http.MethodGet, "http://203.0.113.7/remote.php/dav/files/a/x", nil)
	if _, err := guard.RoundTrip(req); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a downgrade to plain http: got %v, want ErrForbidden", err)
	}
}

// TestWebDAVHonoursCancel: a server that never answers must not hold a
// cancelled call (status --wait reads receipts in a loop).
func TestWebDAVHonoursCancel(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	s := NewWebDAV(srv.URL+"/dav/", Credentials{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	for name, call := range map[string]func() error{
		"open":   func() error { _, err := s.Open(ctx, "x"); return err },
		"remove": func() error { return s.Remove(ctx, "x") },
		"rename": func() error { return s.Rename(ctx, "x", "y") },
		"mkdir":  func() error { return s.Mkdir(ctx, "x") },
	} {
		if err := call(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: got %v, want the context's deadline", name, err)
		}
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled calls took %v", time.Since(start))
	}
}

// TestIsLoopback: only this machine counts, not a host name that starts
// like a loopback address.
func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.0.0.2": true, "::1": true,
		"127.evil.example": false, "127.0.0.1.nip.io": false, "mail.example.fi": false, "10.0.0.1": false, "": false,
	} {
		if IsLoopback(host) != want {
			t.Errorf("IsLoopback(%q) = %v", host, !want)
		}
	}
	if _, err := OpenWith(context.Background(), "http://127.evil.example/remote.php/dav/files/a/x/", OpenOptions{}); err == nil {
		t.Error("plain http to a host named 127.… was allowed")
	}
}
