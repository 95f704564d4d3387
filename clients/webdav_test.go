package clients_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
