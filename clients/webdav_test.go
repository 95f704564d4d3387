package clients_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/internal/testserver"
)

// TestWebDAVApache runs the store contract against Apache mod_dav at a
// Nextcloud-shaped path.
func TestWebDAVApache(t *testing.T) {
	d := testserver.Apache(t)
	s := clients.NewWebDAV(d.URL, clients.Credentials{User: d.User, Password: d.Password})
	clients.StoreContract(t, s)
}

func TestWebDAVWrongPassword(t *testing.T) {
	d := testserver.Apache(t)
	s := clients.NewWebDAV(d.URL, clients.Credentials{User: d.User, Password: "wrong"})
	ctx := context.Background()
	if _, err := s.Stat(ctx, ""); !errors.Is(err, clients.ErrAuth) {
		t.Fatalf("stat: got %v, want ErrAuth", err)
	}
	err := s.Put(ctx, "x", strings.NewReader("data"), 4)
	if !errors.Is(err, clients.ErrAuth) {
		t.Fatalf("put: got %v, want ErrAuth", err)
	}
	if clients.Temporary(err) {
		t.Error("a refused password is not worth retrying")
	}
	if entries, _ := os.ReadDir(d.Root); len(entries) != 0 {
		t.Fatalf("a refused put left %v", entries)
	}
}

// TestWebDAVNoPartialFile watches the server's folder while a slow upload
// runs: the final name must never appear before the upload is complete.
func TestWebDAVNoPartialFile(t *testing.T) {
	d := testserver.Apache(t)
	s := clients.NewWebDAV(d.URL, clients.Credentials{User: d.User, Password: d.Password})
	const size = 8 << 20
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Put(context.Background(), "big.c4gh", pr, size) }()
	chunk := make([]byte, 1<<20)
	for i := 0; i < size/len(chunk); i++ {
		if _, err := pw.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(d.Root, "big.c4gh")); err == nil {
			t.Fatalf("the final name appeared after %d of %d MiB", i+1, size>>20)
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(d.Root, "big.c4gh"))
	if err != nil || st.Size() != size {
		t.Fatalf("after the upload: %v", err)
	}
	entries, _ := os.ReadDir(d.Root)
	if len(entries) != 1 {
		t.Fatalf("left %d entries, want only big.c4gh", len(entries))
	}
}

func TestWebDAVUnreachable(t *testing.T) {
	s := clients.NewWebDAV("http://127.0.0.1:1/remote.php/dav/files/a/", clients.Credentials{})
	_, err := s.Stat(context.Background(), "")
	if !errors.Is(err, clients.ErrNetwork) || !clients.Temporary(err) {
		t.Fatalf("got %v, want a temporary ErrNetwork", err)
	}
}

// TestWebDAVRclone runs the store contract against rclone's WebDAV server,
// a second implementation, at the same Nextcloud-shaped path.
func TestWebDAVRclone(t *testing.T) {
	d := testserver.Rclone(t)
	s := clients.NewWebDAV(d.URL, clients.Credentials{User: d.User, Password: d.Password})
	clients.StoreContract(t, s)
	if entries, err := os.ReadDir(filepath.Join(d.Root, "J")); err != nil || len(entries) != 0 {
		t.Fatalf("rclone's folder J holds %v (%v), want nothing left", entries, err)
	}

	// A wrong password is refused for good, and nothing is written.
	bad := clients.NewWebDAV(d.URL, clients.Credentials{User: d.User, Password: "wrong"})
	ctx := context.Background()
	if _, err := bad.Stat(ctx, ""); !errors.Is(err, clients.ErrAuth) {
		t.Fatalf("stat with a wrong password: got %v, want ErrAuth", err)
	}
	err := bad.Put(ctx, "x", strings.NewReader("data"), 4)
	if !errors.Is(err, clients.ErrAuth) || clients.Temporary(err) {
		t.Fatalf("put with a wrong password: got %v, want ErrAuth, not temporary", err)
	}
	if _, err := os.Stat(filepath.Join(d.Root, "x")); err == nil {
		t.Fatal("a refused put left x")
	}
	// rclone has no chunked upload endpoint either (MKCOL of
	// /remote.php/dav/uploads/alice/ID answers 404): a file over one chunk
	// goes up in one plain PUT, and a wrong password is still refused.
	data := randomData(11 << 20)
	if err := bad.PutResumable(ctx, "big.c4gh", bytes.NewReader(data), int64(len(data)), "id"); !errors.Is(err, clients.ErrAuth) {
		t.Fatalf("chunked put with a wrong password: got %v, want ErrAuth", err)
	}
	chunked := clients.NewWebDAVChunked(d.URL, clients.Credentials{User: d.User, Password: d.Password}, 5<<20)
	if err := chunked.PutResumable(ctx, "big.c4gh", bytes.NewReader(data), int64(len(data)), "id"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(d.Root, "big.c4gh"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the fallback upload differs: %v", err)
	}
	if entries, _ := os.ReadDir(d.Root); len(entries) != 2 { // J and big.c4gh
		t.Fatalf("rclone's root holds %d entries, want J and big.c4gh", len(entries))
	}
}

// TestWebDAVCutIsTemporary cuts a plain PUT to Apache halfway: the error
// is worth retrying, the hidden partial file is removed, and a second Put
// stores the file whole.
func TestWebDAVCutIsTemporary(t *testing.T) {
	d := testserver.Apache(t)
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := testserver.CutProxy(t, u.Host)
	u.Host = p.Addr
	s := clients.NewWebDAV(u.String(), clients.Credentials{User: d.User, Password: d.Password})
	ctx := context.Background()
	data := randomData(8 << 20)
	p.CutAfter(4 << 20)
	err = s.Put(ctx, "big.c4gh", bytes.NewReader(data), int64(len(data)))
	if err == nil || !clients.Temporary(err) || !errors.Is(err, clients.ErrNetwork) {
		t.Fatalf("a cut PUT: %v, want a temporary network error", err)
	}
	t.Logf("the cut put: %v", err)
	if p.Cuts() != 1 {
		t.Fatalf("the proxy cut %d connections, want 1", p.Cuts())
	}
	// Apache removes its own temporary file (.davfs.tmp…) once it notices
	// the reset, a moment after the client does: wait for it, briefly.
	var entries []os.DirEntry
	for i := 0; i < 100; i++ {
		if entries, _ = os.ReadDir(d.Root); len(entries) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(entries) != 0 {
		t.Fatalf("a cut put left %v", entries)
	}
	if err := s.Put(ctx, "big.c4gh", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(d.Root, "big.c4gh"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the second put differs: %v", err)
	}
}
