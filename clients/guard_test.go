package clients

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// TestChunkedReadsAhead: while a chunk is on its way to the server, the
// next one is already being read from the source, so an encryption
// feeding the upload does not stop at every chunk. The server holds the
// first chunk's answer until the source has given the second chunk, and
// fails it if that does not happen. An in-process server: what is tested
// is the order of reads and requests, not a server's behaviour.
func TestChunkedReadsAhead(t *testing.T) {
	const chunk = 1 << 20
	ahead := make(chan struct{})
	var mu sync.Mutex
	var puts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch r.Method {
		case "MKCOL":
			w.WriteHeader(http.StatusCreated)
		case http.MethodPut:
			mu.Lock()
			puts = append(puts, path.Base(r.URL.Path))
			first := len(puts) == 1
			mu.Unlock()
			if first {
				select {
				case <-ahead:
				case <-time.After(10 * time.Second):
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
			}
			w.WriteHeader(http.StatusCreated)
		case "MOVE":
			w.WriteHeader(http.StatusCreated)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	defer srv.Close()
	s := NewWebDAVChunked(srv.URL+"/remote.php/dav/files/user/", Credentials{User: "user"}, chunk)
	src := &signalAt{r: &zeros{n: 3*chunk + 5}, at: 2 * chunk, c: ahead}
	if err := s.Put(context.Background(), "j/b.c4gh", src, -1); err != nil {
		t.Fatalf("the upload failed (the second chunk was not read while the first was sent?): %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"00001", "00002", "00003", "00004"}; !slices.Equal(puts, want) {
		t.Fatalf("chunks sent: %v, want %v", puts, want)
	}
}

// signalAt closes c once at bytes have been read from r.
type signalAt struct {
	r    io.Reader
	read int64
	at   int64
	c    chan struct{}
}

func (s *signalAt) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if s.read < s.at && s.read+int64(n) >= s.at {
		close(s.c)
	}
	s.read += int64(n)
	return n, err
}

// TestChunkBodyClosed: a chunk's buffer is free again only once every
// body net/http was given over it is closed (the first, and one made by
// GetBody for a redirect); an empty chunk is never handed over.
func TestChunkBodyClosed(t *testing.T) {
	c := newChunkBody([]byte("chunk"))
	first, again := c.open(), c.open()
	first.Close()
	first.Close() // twice is once
	if c.closed(20 * time.Millisecond) {
		t.Fatal("free while a body is still open")
	}
	go func() { time.Sleep(10 * time.Millisecond); again.Close() }()
	if !c.closed(10 * time.Second) {
		t.Fatal("not free after every body was closed")
	}
	if empty := newChunkBody(nil); !empty.closed(time.Millisecond) {
		t.Fatal("an empty chunk waits for a body")
	}
}

// TestChunkedStopsReadingOnFailure: when a chunk's PUT fails, the upload
// returns without first filling the next chunk from the source (an
// encryption, or the app's browser stream, that would be thrown away).
func TestChunkedStopsReadingOnFailure(t *testing.T) {
	const chunk = 1 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == "MKCOL" {
			w.WriteHeader(http.StatusCreated)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	s := NewWebDAVChunked(srv.URL+"/remote.php/dav/files/user/", Credentials{User: "user"}, chunk)
	src := &slowSource{}
	if err := s.Put(context.Background(), "j/b.c4gh", src, -1); err == nil {
		t.Fatal("an upload whose chunk failed succeeded")
	}
	if n := src.read.Load(); n > chunk+chunk/2 {
		t.Fatalf("%d bytes read from the source for one failed chunk of %d", n, chunk)
	}
}

// slowSource gives 1 KiB a millisecond, for ever.
type slowSource struct{ read atomic.Int64 }

func (s *slowSource) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	n := min(len(p), 1024)
	clear(p[:n])
	s.read.Add(int64(n))
	return n, nil
}
