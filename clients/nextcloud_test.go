package clients_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/internal/testserver"
)

func randomData(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{7}).Read(b)
	return b
}

// failAfter returns its data and then an error, like a connection that
// drops after n bytes.
type failAfter struct {
	r io.Reader
	n int64
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

func TestNextcloudChunkedResume(t *testing.T) {
	nc := testserver.NextcloudServer(t)
	const chunk = 5 << 20
	s := clients.NewWebDAVChunked(nc.URL, clients.Credentials{User: nc.User, Password: nc.Password}, chunk)
	ctx := context.Background()
	if err := s.Mkdir(ctx, "2022_53"); err != nil {
		t.Fatal(err)
	}
	data := randomData(4*chunk + 123)
	const id = "sha256-of-the-payload"

	// The connection drops during the third chunk.
	err := s.PutResumable(ctx, "2022_53/big.c4gh", &failAfter{r: bytes.NewReader(data), n: 2*chunk + 1000}, int64(len(data)), id)
	if err == nil {
		t.Fatal("an upload whose source failed succeeded")
	}
	if _, err := os.Stat(filepath.Join(nc.Root, "2022_53", "big.c4gh")); err == nil {
		t.Fatal("the file appeared before the upload completed")
	}
	if n := len(nc.Uploads()); n != 1 {
		t.Fatalf("%d upload folders kept for resuming, want 1", n)
	}
	sentBefore := nc.ChunksSent()

	// Again, whole: the two chunks already there are not sent again.
	if err := s.PutResumable(ctx, "2022_53/big.c4gh", bytes.NewReader(data), int64(len(data)), id); err != nil {
		t.Fatal(err)
	}
	if resent := nc.ChunksSent() - sentBefore; resent != 3 {
		t.Errorf("the resumed upload sent %d chunks, want the 3 missing ones", resent)
	}
	got, err := os.ReadFile(filepath.Join(nc.Root, "2022_53", "big.c4gh"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("assembled file differs: %v", err)
	}
	if n := len(nc.Uploads()); n != 0 {
		t.Fatalf("%d upload folders left after completion", n)
	}

	// Other content under the same name is a new upload, never mixed with
	// the old chunks.
	other := randomData(2*chunk + 5)
	other[0] ^= 1
	if err := s.PutResumable(ctx, "2022_53/big.c4gh", bytes.NewReader(other), int64(len(other)), "another-sha256"); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(filepath.Join(nc.Root, "2022_53", "big.c4gh"))
	if !bytes.Equal(got, other) {
		t.Fatal("the replacement differs")
	}
	// The stand-in is strict: a wrong password is refused there too.
	bad := clients.NewWebDAVChunked(nc.URL, clients.Credentials{User: nc.User, Password: "x"}, chunk)
	if err := bad.PutResumable(ctx, "2022_53/x", bytes.NewReader(data), int64(len(data)), "id"); !errors.Is(err, clients.ErrAuth) {
		t.Fatalf("wrong password: %v", err)
	}
	// And the whole store contract holds on it.
	clients.StoreContract(t, s)
}

// TestChunkedFallsBackOnApache: Apache at a Nextcloud-shaped path has no
// uploads endpoint, so the store uses one plain PUT.
func TestChunkedFallsBackOnApache(t *testing.T) {
	d := testserver.Apache(t)
	s := clients.NewWebDAVChunked(d.URL, clients.Credentials{User: d.User, Password: d.Password}, 5<<20)
	data := randomData(11 << 20)
	if err := s.PutResumable(context.Background(), "big.c4gh", bytes.NewReader(data), int64(len(data)), "id"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(d.Root, "big.c4gh"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("fallback upload differs: %v", err)
	}
}

// TestNextcloudCutResume cuts the connection to the Nextcloud stand-in in
// the middle of the third of six chunks: the upload fails temporarily,
// and the next one sends only the chunks that are missing.
func TestNextcloudCutResume(t *testing.T) {
	nc := testserver.NextcloudServer(t)
	u, err := url.Parse(nc.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := testserver.CutProxy(t, u.Host)
	u.Host = p.Addr
	const chunk = 5 << 20
	s := clients.NewWebDAVChunked(u.String(), clients.Credentials{User: nc.User, Password: nc.Password}, chunk)
	ctx := context.Background()
	if err := s.Mkdir(ctx, "2022_53"); err != nil {
		t.Fatal(err)
	}
	data := randomData(5*chunk + 1<<20) // 26 MiB: six chunks
	const total = 6
	const id = "sha256-of-the-payload"

	p.CutAfter(12 << 20)
	err = s.PutResumable(ctx, "2022_53/big.c4gh", bytes.NewReader(data), int64(len(data)), id)
	if err == nil || !clients.Temporary(err) || !errors.Is(err, clients.ErrNetwork) {
		t.Fatalf("the upload whose connection was cut: %v, want a temporary network error", err)
	}
	t.Logf("the cut upload: %v", err)
	if p.Cuts() != 1 {
		t.Fatalf("the proxy cut %d connections, want 1", p.Cuts())
	}
	if n := nc.ChunksSent(); n != 2 {
		t.Fatalf("%d chunks stored before the cut, want 2", n)
	}
	if _, err := os.Stat(filepath.Join(nc.Root, "2022_53", "big.c4gh")); err == nil {
		t.Fatal("the file appeared before the upload completed")
	}
	if n := len(nc.Uploads()); n != 1 {
		t.Fatalf("%d upload folders kept for resuming, want 1", n)
	}

	before, wire := nc.ChunksSent(), p.Sent()
	// As siirto upload does: retry what is temporary. Right after a cut the
	// server may still hold the aborted chunk's lock (423).
	for attempt := 0; ; attempt++ {
		err := s.PutResumable(ctx, "2022_53/big.c4gh", bytes.NewReader(data), int64(len(data)), id)
		if err == nil {
			break
		}
		if !clients.Temporary(err) || attempt == 5 {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if resent := nc.ChunksSent() - before; resent != total-2 {
		t.Errorf("the resumed upload sent %d chunks, want the %d missing ones", resent, total-2)
	}
	if sent := p.Sent() - wire; sent >= int64(len(data))-2*chunk+64<<10 {
		t.Errorf("the resumed upload sent %d bytes for %d missing", sent, len(data)-2*chunk)
	}
	got, err := os.ReadFile(filepath.Join(nc.Root, "2022_53", "big.c4gh"))
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("the assembled file differs: %v", err)
	}
	if n := len(nc.Uploads()); n != 0 {
		t.Fatalf("%d upload folders left after completion", n)
	}
}

// TestNextcloudResumeNeverMixes: an interrupted run from other bytes of
// the same size (a copy still being written, say) leaves chunks under the
// same upload id; resuming with the right bytes must not reuse them.
func TestNextcloudResumeNeverMixes(t *testing.T) {
	nc := testserver.NextcloudServer(t)
	const chunk = 5 << 20
	s := clients.NewWebDAVChunked(nc.URL, clients.Credentials{User: nc.User, Password: nc.Password}, chunk)
	ctx := context.Background()
	if err := s.Mkdir(ctx, "2022_53"); err != nil {
		t.Fatal(err)
	}
	good := randomData(3*chunk + 99)
	wrong := make([]byte, len(good)) // same size, other bytes
	const id = "the-manifest-sha256"
	if err := s.PutResumable(ctx, "2022_53/x.c4gh", &failAfter{r: bytes.NewReader(wrong), n: 2*chunk + 10}, int64(len(wrong)), id); err == nil {
		t.Fatal("the cut run succeeded")
	}
	before := nc.ChunksSent()
	if err := s.PutResumable(ctx, "2022_53/x.c4gh", bytes.NewReader(good), int64(len(good)), id); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(nc.Root, "2022_53", "x.c4gh"))
	if !bytes.Equal(got, good) {
		t.Fatal("the resumed upload mixed in chunks of the earlier, different bytes")
	}
	if resent := nc.ChunksSent() - before; resent != 4 {
		t.Errorf("resent %d chunks, want all 4: none of the earlier ones may be reused", resent)
	}
}
