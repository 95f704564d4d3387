package clients

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/siirto/siirto/internal/testserver"
)

// The S3 store is tested against versitygw, a real S3 server over a local
// folder that scripts/tools.sh builds into .tools/bin.

const mib = 1 << 20

// s3Env points the AWS credential chain at exactly these keys: no
// developer's ~/.aws, profile or instance metadata takes part.
func s3Env(t *testing.T, accessKey, secretKey string) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "no-aws-config")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           accessKey,
		"AWS_SECRET_ACCESS_KEY":       secretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_DEFAULT_PROFILE":         "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
}

// newS3Test starts versitygw and returns a store on it under prefix.
func newS3Test(t *testing.T, prefix string, o S3Options) (*testserver.S3Server, *S3) {
	t.Helper()
	srv := testserver.S3(t)
	s3Env(t, srv.AccessKey, srv.SecretKey)
	o.Endpoint = srv.Endpoint
	s, err := NewS3(context.Background(), srv.Bucket, prefix, o)
	if err != nil {
		t.Fatal(err)
	}
	return srv, s
}

// countingHTTP sits between the SDK and the network and counts what the
// store sends: UploadPart bodies (bytes actually read by the transport)
// and PutObject requests.
type countingHTTP struct {
	next s3.HTTPClient

	mu        sync.Mutex
	partBytes int64 // body bytes of UploadPart requests sent
	partsDone int   // UploadPart requests answered 200
	putObject int   // PutObject requests
}

func (c *countingHTTP) Do(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	isPart := req.Method == http.MethodPut && q.Has("partNumber") && q.Has("uploadId")
	if req.Method == http.MethodPut && !q.Has("uploadId") {
		c.mu.Lock()
		c.putObject++
		c.mu.Unlock()
	}
	if isPart && req.Body != nil && req.Body != http.NoBody {
		req.Body = &countingBody{ReadCloser: req.Body, c: c}
	}
	resp, err := c.next.Do(req)
	if isPart && err == nil && resp.StatusCode == http.StatusOK {
		c.mu.Lock()
		c.partsDone++
		c.mu.Unlock()
	}
	return resp, err
}

func (c *countingHTTP) counts() (partBytes int64, partsDone, putObject int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.partBytes, c.partsDone, c.putObject
}

type countingBody struct {
	io.ReadCloser
	c *countingHTTP
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.mu.Lock()
	b.c.partBytes += int64(n)
	b.c.mu.Unlock()
	return n, err
}

// count makes s send its requests through a counter.
func count(s *S3) *countingHTTP {
	c := &countingHTTP{}
	s.c = s3.New(s.c.Options(), func(o *s3.Options) {
		c.next = o.HTTPClient
		o.HTTPClient = c
	})
	return c
}

func randomData(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readBack(t *testing.T, s Store, p string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), p)
	if err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return got
}

func sameData(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("%s: read back %d bytes that differ from the %d sent", what, len(got), len(want))
	}
}

// uploads lists the unfinished multipart uploads in the bucket.
func uploads(t *testing.T, srv *testserver.S3Server) []string {
	t.Helper()
	out, err := srv.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &srv.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}

func TestS3PartSize(t *testing.T) {
	for _, c := range []struct{ size, base, want int64 }{
		{-1, 16 * mib, 16 * mib},
		{100, 16 * mib, 16 * mib},
		{10000 * 16 * mib, 16 * mib, 16 * mib},
		{10000*16*mib + 1, 16 * mib, 17 * mib},
		{5 << 40, 5 * mib, 525 * mib}, // 5 TiB, S3's largest object
	} {
		got := partSizeFor(c.size, c.base)
		if got != c.want || c.size > got*maxParts || got%mib != 0 {
			t.Errorf("partSizeFor(%d, %d) = %d, want %d", c.size, c.base, got, c.want)
		}
	}
}

func TestS3Store(t *testing.T) {
	srv, s := newS3Test(t, "inbox", S3Options{})
	ctx := context.Background()
	StoreContractCaps(t, s, StoreCaps{ImplicitFolders: true})

	for _, p := range []string{"../x", "a/../../x", `a\b`} {
		if _, err := s.Stat(ctx, p); !errors.Is(err, ErrTarget) {
			t.Errorf("%q: got %v, want ErrTarget", p, err)
		}
	}
	if st, err := s.Stat(ctx, ""); err != nil || !st.Dir {
		t.Fatalf("stat of the root: %+v, %v", st, err)
	}
	// Keys are the prefix plus the path; Mkdir leaves a marker, so an
	// empty folder exists and lists as a folder.
	if err := s.Put(ctx, "K/f", strings.NewReader("abc"), 3); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: &srv.Bucket, Key: aws.String("inbox/K/f")}); err != nil {
		t.Fatalf("the object is not at inbox/K/f: %v", err)
	}
	if err := s.Mkdir(ctx, "E"); err != nil {
		t.Fatal(err)
	}
	if err := s.Mkdir(ctx, "E"); err != nil {
		t.Fatalf("mkdir of an existing folder: %v", err)
	}
	if st, err := s.Stat(ctx, "E"); err != nil || !st.Dir {
		t.Fatalf("stat of an empty folder: %+v, %v", st, err)
	}
	if entries, err := s.List(ctx, "E"); err != nil || len(entries) != 0 {
		t.Fatalf("list of an empty folder: %+v, %v", entries, err)
	}
	entries, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]bool{}
	for _, e := range entries {
		dirs[e.Name] = e.Dir
	}
	if !dirs["E"] || !dirs["K"] || !dirs["J"] {
		t.Fatalf("the root lists %+v, want the folders E, J and K", entries)
	}
	if st, err := s.Stat(ctx, "K/f"); err != nil || st.Name != "f" || st.Size != 3 || st.ModTime.IsZero() {
		t.Fatalf("stat: %+v, %v", st, err)
	}
}

func TestS3Multipart(t *testing.T) {
	_, s := newS3Test(t, "", S3Options{PartSize: 5 * mib, Concurrency: 3})
	c := count(s)
	data := randomData(t, 23*mib+123)
	if err := s.Put(context.Background(), "big.c4gh", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if sent, parts, puts := c.counts(); parts != 5 || sent != int64(len(data)) || puts != 0 {
		t.Fatalf("sent %d bytes in %d parts and %d PutObjects, want %d in 5 parts", sent, parts, puts, len(data))
	}
	sameData(t, "multipart", readBack(t, s, "big.c4gh"), data)
	if st, err := s.Stat(context.Background(), "big.c4gh"); err != nil || st.Size != int64(len(data)) {
		t.Fatalf("stat: %+v, %v", st, err)
	}
	// Too few bytes for the announced size: refused, and nothing is left.
	err := s.Put(context.Background(), "short", bytes.NewReader(data[:11*mib]), int64(len(data)))
	if err == nil || !strings.Contains(err.Error(), "announced") {
		t.Fatalf("a short multipart upload: %v", err)
	}
	if _, err := s.Stat(context.Background(), "short"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a short upload left an object: %v", err)
	}
}

func TestS3UnknownSize(t *testing.T) {
	srv, s := newS3Test(t, "p/", S3Options{PartSize: 5 * mib, Concurrency: 2})
	c := count(s)
	data := randomData(t, 12*mib+1)
	// A reader with no Len or Seek: only a stream.
	if err := s.Put(context.Background(), "stream", io.MultiReader(bytes.NewReader(data)), -1); err != nil {
		t.Fatal(err)
	}
	if sent, parts, _ := c.counts(); parts != 3 || sent != int64(len(data)) {
		t.Fatalf("sent %d bytes in %d parts, want %d in 3", sent, parts, len(data))
	}
	sameData(t, "streamed multipart", readBack(t, s, "stream"), data)
	// Short of one part: a single PutObject.
	small := data[:1000]
	if err := s.Put(context.Background(), "small", io.MultiReader(bytes.NewReader(small)), -1); err != nil {
		t.Fatal(err)
	}
	if _, parts, puts := c.counts(); parts != 3 || puts != 1 {
		t.Fatalf("a small stream took %d parts and %d PutObjects", parts-3, puts)
	}
	sameData(t, "small stream", readBack(t, s, "small"), small)
	if u := uploads(t, srv); len(u) != 0 {
		t.Fatalf("unfinished uploads left: %v", u)
	}
}

// zeros is an endless stream of zero bytes, up to n.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// A streamed upload holds about (Concurrency+1) parts in memory, not the file.
func TestS3BoundedMemory(t *testing.T) {
	const part, size = 5 * mib, 96 * mib
	_, s := newS3Test(t, "", S3Options{PartSize: part, Concurrency: 2})
	for _, announced := range []int64{size, -1} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if err := s.Put(context.Background(), "zeros", &zeros{n: size}, announced); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("size %d: %.1f MiB allocated to send %d MiB", announced, float64(alloc)/mib, size/mib)
		if alloc > 6*part {
			t.Errorf("size %d: %d MiB allocated to send %d MiB in parts of %d MiB, 2 at once", announced, alloc/mib, size/mib, part/mib)
		}
	}
	if st, err := s.Stat(context.Background(), "zeros"); err != nil || st.Size != size {
		t.Fatalf("stat: %+v, %v", st, err)
	}
}

// gateReader reads r, and when the data of the first parts have been read,
// waits until that many UploadParts have been answered, then cancels the
// context and fails as a cancelled read does.
type gateReader struct {
	r      io.Reader
	left   int64 // bytes until the gate
	parts  int
	c      *countingHTTP
	cancel context.CancelFunc
	err    error
}

func (g *gateReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, done, _ := g.c.counts(); done >= g.parts {
				break
			}
			if time.Now().After(deadline) {
				return 0, errors.New("gateReader: the first parts never arrived")
			}
			time.Sleep(5 * time.Millisecond)
		}
		g.cancel()
		return 0, g.err
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.r.Read(p)
	g.left -= int64(n)
	return n, err
}

func TestS3Resume(t *testing.T) {
	const part = 5 * mib
	srv, first := newS3Test(t, "in", S3Options{PartSize: part, Concurrency: 2, KeepPartial: true})
	data := randomData(t, 4*part+3*mib) // five parts
	size := int64(len(data))

	// The first run is cancelled once two parts are on the server.
	c1 := count(first)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := &gateReader{r: bytes.NewReader(data), left: 2 * part, parts: 2, c: c1, cancel: cancel, err: context.Canceled}
	if err := first.Put(ctx, "x.c4gh", g, size); !errors.Is(err, context.Canceled) {
		t.Fatalf("the interrupted put: %v", err)
	}
	if u := uploads(t, srv); len(u) != 1 || u[0] != "in/x.c4gh" {
		t.Fatalf("KeepPartial kept %v, want the upload of in/x.c4gh", u)
	}
	if _, err := first.Stat(context.Background(), "x.c4gh"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unfinished upload is visible: %v", err)
	}

	// A new store (a new process, as far as S3 can tell) sends only the rest.
	second, err := NewS3(context.Background(), srv.Bucket, "in", S3Options{Endpoint: srv.Endpoint, PartSize: part, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	c2 := count(second)
	if err := second.Put(context.Background(), "x.c4gh", bytes.NewReader(data), size); err != nil {
		t.Fatal(err)
	}
	if sent, parts, _ := c2.counts(); sent != size-2*part || parts != 3 {
		t.Fatalf("the resumed put sent %d bytes in %d parts, want %d in 3", sent, parts, size-2*part)
	}
	sameData(t, "resumed", readBack(t, second, "x.c4gh"), data)
	if u := uploads(t, srv); len(u) != 0 {
		t.Fatalf("unfinished uploads left: %v", u)
	}

	// Parts kept from other data are not taken for this data's.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	c1 = count(first)
	g = &gateReader{r: bytes.NewReader(data), left: 2 * part, parts: 2, c: c1, cancel: cancel, err: context.Canceled}
	if err := first.Put(ctx, "y.c4gh", g, size); !errors.Is(err, context.Canceled) {
		t.Fatalf("the interrupted put: %v", err)
	}
	other := randomData(t, len(data))
	copy(other[part:], data[part:]) // only the first part differs
	c2 = count(second)
	if err := second.Put(context.Background(), "y.c4gh", bytes.NewReader(other), size); err != nil {
		t.Fatal(err)
	}
	if sent, parts, _ := c2.counts(); sent != size-part || parts != 4 {
		t.Fatalf("the resumed put of other data sent %d bytes in %d parts, want %d in 4", sent, parts, size-part)
	}
	sameData(t, "resumed other data", readBack(t, second, "y.c4gh"), other)
}

func TestS3CancelAborts(t *testing.T) {
	const part = 5 * mib
	srv, s := newS3Test(t, "", S3Options{PartSize: part, Concurrency: 2})
	data := randomData(t, 3*part)
	c := count(s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := &gateReader{r: bytes.NewReader(data), left: 2 * part, parts: 2, c: c, cancel: cancel, err: context.Canceled}
	if err := s.Put(ctx, "x", g, int64(len(data))); !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled put: %v", err)
	}
	if u := uploads(t, srv); len(u) != 0 {
		t.Fatalf("a cancelled put without KeepPartial left %v", u)
	}

	// With KeepPartial, a failure that is not a cancellation aborts too.
	keep, err := NewS3(context.Background(), srv.Bucket, "", S3Options{Endpoint: srv.Endpoint, PartSize: part, KeepPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	c = count(keep)
	g = &gateReader{r: bytes.NewReader(data), left: 2 * part, parts: 2, c: c, cancel: func() {}, err: errors.New("disk on fire")}
	if err := keep.Put(context.Background(), "x", g, int64(len(data))); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("the failed put: %v", err)
	}
	if u := uploads(t, srv); len(u) != 0 {
		t.Fatalf("a failed put left %v", u)
	}

	// A failure worth retrying (a lost connection) keeps the parts even
	// without KeepPartial, and the next Put resumes and completes.
	plain, err := NewS3(context.Background(), srv.Bucket, "", S3Options{Endpoint: srv.Endpoint, PartSize: part})
	if err != nil {
		t.Fatal(err)
	}
	c = count(plain)
	g = &gateReader{r: bytes.NewReader(data), left: 2 * part, parts: 2, c: c, cancel: func() {}, err: fmt.Errorf("%w: connection reset", ErrNetwork)}
	if err := plain.Put(context.Background(), "y", g, int64(len(data))); !Temporary(err) {
		t.Fatalf("a put that lost its connection: %v, want a temporary error", err)
	}
	if u := uploads(t, srv); len(u) != 1 {
		t.Fatalf("after a lost connection %d uploads are kept, want 1", len(u))
	}
	if err := plain.Put(context.Background(), "y", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if u := uploads(t, srv); len(u) != 0 {
		t.Fatalf("the resumed put left %v", u)
	}

	// With NoResume (siirto send), even a failure worth retrying aborts:
	// data that is new on every try leaves no parts behind.
	once, err := NewS3(context.Background(), srv.Bucket, "", S3Options{Endpoint: srv.Endpoint, PartSize: part, NoResume: true})
	if err != nil {
		t.Fatal(err)
	}
	c = count(once)
	g = &gateReader{r: bytes.NewReader(data), left: 2 * part, parts: 2, c: c, cancel: func() {}, err: fmt.Errorf("%w: connection reset", ErrNetwork)}
	if err := once.Put(context.Background(), "z", g, int64(len(data))); err == nil {
		t.Fatal("a put that lost its connection succeeded")
	}
	if u := uploads(t, srv); len(u) != 0 {
		t.Fatalf("with NoResume a lost connection kept %v", u)
	}
}

func TestS3Errors(t *testing.T) {
	srv, s := newS3Test(t, "", S3Options{})
	ctx := context.Background()
	if err := s.Put(ctx, "f", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{"missing", "no/such/key"} {
		if _, err := s.Open(ctx, p); !errors.Is(err, ErrNotFound) {
			t.Errorf("open %s: %v, want ErrNotFound", p, err)
		}
		if _, err := s.Stat(ctx, p); !errors.Is(err, ErrNotFound) {
			t.Errorf("stat %s: %v, want ErrNotFound", p, err)
		}
	}
	if _, err := s.List(ctx, "nothing-here"); !errors.Is(err, ErrNotFound) {
		t.Errorf("list of a folder with nothing in it: %v, want ErrNotFound", err)
	}
	nobucket, err := NewS3(ctx, "no-such-bucket", "", S3Options{Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nobucket.Stat(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("stat of a missing bucket: %v, want ErrNotFound", err)
	}
	if _, err := nobucket.Open(ctx, "f"); !errors.Is(err, ErrNotFound) {
		t.Errorf("open in a missing bucket: %v, want ErrNotFound", err)
	}

	// Wrong credentials: a wrong secret, and an unknown access key.
	for _, keys := range [][2]string{{srv.AccessKey, "wrong-secret"}, {"nosuchkey", srv.SecretKey}} {
		s3Env(t, keys[0], keys[1])
		bad, err := NewS3(ctx, srv.Bucket, "", S3Options{Endpoint: srv.Endpoint})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bad.Open(ctx, "f"); !errors.Is(err, ErrAuth) {
			t.Errorf("open with keys %q: %v, want ErrAuth", keys, err)
		}
		if err := bad.Put(ctx, "g", strings.NewReader("x"), 1); !errors.Is(err, ErrAuth) {
			t.Errorf("put with keys %q: %v, want ErrAuth", keys, err)
		}
		if _, err := bad.List(ctx, ""); !errors.Is(err, ErrAuth) {
			t.Errorf("list with keys %q: %v, want ErrAuth", keys, err)
		}
		for _, p := range []string{"f", ""} { // HEAD requests: answers without a body
			if _, err := bad.Stat(ctx, p); !errors.Is(err, ErrAuth) {
				t.Errorf("stat %q with keys %q: %v, want ErrAuth", p, keys, err)
			}
		}
		// (versitygw answers an unknown key 404 XAdminUserNotFound, not AWS's 403 InvalidAccessKeyId.)
		var se *StatusError
		if _, err := bad.List(ctx, ""); !errors.As(err, &se) || Temporary(err) {
			t.Errorf("list with keys %q: %#v, want a StatusError that is not temporary", keys, err)
		}
	}

	// No credentials at all.
	s3Env(t, "", "")
	if _, err := NewS3(ctx, srv.Bucket, "", S3Options{Endpoint: srv.Endpoint}); !errors.Is(err, ErrAuth) {
		t.Errorf("no credentials: %v, want ErrAuth", err)
	}

	// Nothing listening: a network error, which is worth retrying.
	s3Env(t, srv.AccessKey, srv.SecretKey)
	down, err := NewS3(ctx, srv.Bucket, "", S3Options{Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.Stat(ctx, "f"); !errors.Is(err, ErrNetwork) || !Temporary(err) {
		t.Errorf("stat on a closed port: %v, want ErrNetwork", err)
	}

	for _, o := range []S3Options{
		{Endpoint: "http://s3.example.com"}, // plain http off this machine
		{Endpoint: "ftp://127.0.0.1/"},
		{Endpoint: "http://k:s@127.0.0.1:9000"},
		{PartSize: 4 * mib},
	} {
		if _, err := NewS3(ctx, "b", "", o); err == nil {
			t.Errorf("%+v was accepted", o)
		}
	}
}

func TestOpenS3Target(t *testing.T) {
	srv := testserver.S3(t)
	s3Env(t, srv.AccessKey, srv.SecretKey)
	ctx := context.Background()
	st, err := OpenWith(ctx, "s3://"+srv.Bucket+"/inbox/THL_1234_14.02.00_2023/", OpenOptions{S3: S3Options{Endpoint: srv.Endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "journal_number.txt", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	key := "inbox/THL_1234_14.02.00_2023/journal_number.txt"
	if _, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: &srv.Bucket, Key: &key}); err != nil {
		t.Fatalf("not at %s: %v", key, err)
	}
	if got := Base("s3://" + srv.Bucket + "/inbox/THL_1234_14.02.00_2023/"); got != "THL_1234_14.02.00_2023" {
		t.Errorf("Base = %q", got)
	}
	for _, bad := range []string{"s3:///inbox/", "s3://key:secret@bucket/", "s3://key@bucket/", "s3://bucket:9000/x", "s3://bucket/x?versionId=1"} {
		if _, err := OpenWith(ctx, bad, OpenOptions{S3: S3Options{Endpoint: srv.Endpoint}}); !errors.Is(err, ErrTarget) {
			t.Errorf("%s: %v, want ErrTarget", bad, err)
		}
	}
}
