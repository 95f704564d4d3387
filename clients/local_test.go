package clients

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// storeContract exercises any Store the same way; the WebDAV store runs it
// against a real Apache mod_dav server in webdav_test.go.
func storeContract(t *testing.T, s Store) {
	ctx := context.Background()
	if err := s.Mkdir(ctx, "J"); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	body := strings.Repeat("payload ", 100000)
	if err := s.Put(ctx, "J/b.c4gh", strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("put: %v", err)
	}
	st, err := s.Stat(ctx, "J/b.c4gh")
	if err != nil || st.Size != int64(len(body)) || st.Dir {
		t.Fatalf("stat: %+v, %v", st, err)
	}
	r, err := s.Open(ctx, "J/b.c4gh")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != body {
		t.Fatal("read back differs")
	}
	// Put replaces, and leaves no temporary file behind.
	if err := s.Put(ctx, "J/b.c4gh", strings.NewReader("new"), 3); err != nil {
		t.Fatal(err)
	}
	entries, err := s.List(ctx, "J")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name != "b.c4gh" || entries[0].Size != 3 {
		t.Fatalf("list after replace: %+v", entries)
	}
	if _, err := s.Stat(ctx, "J/missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat of a missing file: %v", err)
	}
	if _, err := s.Open(ctx, "nope/x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open in a missing folder: %v", err)
	}
	if err := s.Put(ctx, "nope/x", strings.NewReader("x"), 1); err == nil {
		t.Fatal("put into a missing folder succeeded")
	}
	if err := s.Remove(ctx, "J/b.c4gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "J/b.c4gh"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat after remove: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cancelled, "J/c", strings.NewReader("x"), 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("put with a cancelled context: %v", err)
	}
	if entries, _ := s.List(ctx, "J"); len(entries) != 0 {
		t.Fatalf("a cancelled put left %+v", entries)
	}
}

func TestLocalStore(t *testing.T) {
	dir := t.TempDir()
	s, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	storeContract(t, s)
	for _, p := range []string{"../x", "a/../../x", `a\b`} {
		if _, err := s.Stat(context.Background(), p); !errors.Is(err, ErrTarget) {
			t.Errorf("%q: got %v, want ErrTarget", p, err)
		}
	}
	// A short body is refused and leaves nothing.
	if err := s.Put(context.Background(), "short", strings.NewReader("ab"), 5); err == nil {
		t.Fatal("a short upload was accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 { // only J
		t.Fatalf("left %v", entries)
	}
}

func TestOpenTargets(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open("file://"+filepath.ToSlash(dir), Credentials{}); err != nil {
		t.Errorf("file URL: %v", err)
	}
	for _, bad := range []string{"ftp://x/", "https://u:secret@host/", "http://example.com/dav/", "file://otherhost/x", "file:///does/not/exist"} {
		if _, err := Open(bad, Credentials{}); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
	if _, err := Open("http://127.0.0.1:1/dav/", Credentials{}); err != nil {
		t.Errorf("plain http to loopback: %v", err)
	}
	if got := Base("https://h/remote.php/dav/files/a/THL_1_2023/"); got != "THL_1_2023" {
		t.Errorf("Base = %q", got)
	}
}
