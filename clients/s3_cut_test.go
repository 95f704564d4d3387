package clients

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/siirto/siirto/internal/testserver"
)

// newS3Cut starts versitygw and a store that reaches it through a proxy
// that can cut connections.
func newS3Cut(t *testing.T, o S3Options) (*testserver.S3Server, *testserver.Proxy, *S3) {
	t.Helper()
	srv := testserver.S3(t)
	s3Env(t, srv.AccessKey, srv.SecretKey)
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := testserver.CutProxy(t, u.Host)
	o.Endpoint = "http://" + p.Addr
	s, err := NewS3(context.Background(), srv.Bucket, "in", o)
	if err != nil {
		t.Fatal(err)
	}
	return srv, p, s
}

// direct is a store on srv that does not go through the proxy, to read back.
func direct(t *testing.T, srv *testserver.S3Server) *S3 {
	t.Helper()
	s, err := NewS3(context.Background(), srv.Bucket, "in", S3Options{Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestS3CutResume cuts the connection in the middle of the third of six
// parts. With the SDK's own retries off (as when the network stays down
// longer than its three quick attempts) the Put fails, temporarily, and
// keeps the upload; the next Put sends only the parts that are missing.
func TestS3CutResume(t *testing.T) {
	const part = 5 * mib
	srv, p, s := newS3Cut(t, S3Options{PartSize: part, Concurrency: 1})
	s.c = s3.New(s.c.Options(), func(o *s3.Options) { o.Retryer = aws.NopRetryer{} })
	data := randomData(t, 5*part+mib) // 26 MiB: five parts and a short one
	size := int64(len(data))
	ctx := context.Background()

	c1 := count(s)
	p.CutAfter(12 * mib)
	err := s.Put(ctx, "x.c4gh", bytes.NewReader(data), size)
	if err == nil || !Temporary(err) || !errors.Is(err, ErrNetwork) {
		t.Fatalf("the put whose connection was cut: %v, want a temporary network error", err)
	}
	t.Logf("the cut put: %v", err)
	if p.Cuts() != 1 {
		t.Fatalf("the proxy cut %d connections, want 1", p.Cuts())
	}
	if _, done, _ := c1.counts(); done != 2 {
		t.Fatalf("%d parts were stored before the cut, want 2", done)
	}
	if u := uploads(t, srv); len(u) != 1 || u[0] != "in/x.c4gh" {
		t.Fatalf("after a cut connection the unfinished uploads are %v, want in/x.c4gh kept", u)
	}
	if _, err := direct(t, srv).Stat(ctx, "x.c4gh"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unfinished upload is visible: %v", err)
	}

	// Again through the proxy, not cut this time: the two parts already
	// there are not sent again.
	c2 := count(s)
	before := p.Sent()
	if err := s.Put(ctx, "x.c4gh", bytes.NewReader(data), size); err != nil {
		t.Fatal(err)
	}
	if sent, parts, _ := c2.counts(); sent != size-2*part || parts != 4 {
		t.Fatalf("the resumed put sent %d bytes in %d parts, want %d in 4", sent, parts, size-2*part)
	}
	if wire := p.Sent() - before; wire >= size-2*part+64<<10 {
		t.Fatalf("the resumed put sent %d bytes over the wire for %d missing", wire, size-2*part)
	}
	sameData(t, "resumed after a cut", readBack(t, direct(t, srv), "x.c4gh"), data)
	if u := uploads(t, srv); len(u) != 0 {
		t.Fatalf("unfinished uploads left: %v", u)
	}
}

// TestS3CutRetriedBySDK: with the SDK's retries on (the default), one cut
// connection costs the store only the part it interrupted, sent again.
func TestS3CutRetriedBySDK(t *testing.T) {
	const part = 5 * mib
	srv, p, s := newS3Cut(t, S3Options{PartSize: part, Concurrency: 1})
	data := randomData(t, 5*part+mib)
	size := int64(len(data))
	c := count(s)
	p.CutAfter(12 * mib)
	if err := s.Put(context.Background(), "x.c4gh", bytes.NewReader(data), size); err != nil {
		t.Fatalf("one cut connection: %v", err)
	}
	if p.Cuts() != 1 {
		t.Fatalf("the proxy cut %d connections, want 1", p.Cuts())
	}
	if sent, parts, _ := c.counts(); sent <= size || sent > size+part || parts != 6 {
		t.Fatalf("sent %d bytes in %d parts, want %d to %d in 6", sent, parts, size+1, size+part)
	}
	sameData(t, "retried after a cut", readBack(t, direct(t, srv), "x.c4gh"), data)
	if u := uploads(t, srv); len(u) != 0 {
		t.Fatalf("unfinished uploads left: %v", u)
	}
}
