package clients_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/internal/testserver"
)

// onlyReader hides every method but Read, so nothing can learn the size.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestPutUnknownSize streams files of unknown length, as siirto send does:
// to Nextcloud in chunks announced one by one, to Apache with chunked
// transfer encoding.
func TestPutUnknownSize(t *testing.T) {
	nc := testserver.NextcloudServer(t)
	d := testserver.Apache(t)
	ctx := context.Background()
	for _, size := range []int{0, 1, 5 << 20, 12<<20 + 7} {
		data := randomData(size)

		s := clients.NewWebDAVChunked(nc.URL, clients.Credentials{User: nc.User, Password: nc.Password}, 5<<20)
		if err := s.Put(ctx, "stream.c4gh", onlyReader{bytes.NewReader(data)}, -1); err != nil {
			t.Fatalf("nextcloud, %d bytes: %v", size, err)
		}
		got, err := os.ReadFile(filepath.Join(nc.Root, "stream.c4gh"))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("nextcloud, %d bytes: differs (%v)", size, err)
		}
		if n := len(nc.Uploads()); n != 0 {
			t.Fatalf("nextcloud, %d bytes: %d upload folders left", size, n)
		}

		a := clients.NewWebDAVChunked(d.URL, clients.Credentials{User: d.User, Password: d.Password}, 5<<20)
		if err := a.Put(ctx, "stream.c4gh", onlyReader{bytes.NewReader(data)}, -1); err != nil {
			t.Fatalf("apache, %d bytes: %v", size, err)
		}
		got, err = os.ReadFile(filepath.Join(d.Root, "stream.c4gh"))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("apache, %d bytes: differs (%v)", size, err)
		}
	}
	// A stream that fails leaves no upload folder behind: it cannot be resumed.
	s := clients.NewWebDAVChunked(nc.URL, clients.Credentials{User: nc.User, Password: nc.Password}, 5<<20)
	err := s.Put(ctx, "broken.c4gh", &failAfter{r: bytes.NewReader(randomData(20 << 20)), n: 7 << 20}, -1)
	if err == nil {
		t.Fatal("a failing stream was stored")
	}
	if n := len(nc.Uploads()); n != 0 {
		t.Fatalf("a failed stream left %d upload folders", n)
	}
}
