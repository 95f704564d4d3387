package clients

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocalStore(t *testing.T) {
	dir := t.TempDir()
	s, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	StoreContract(t, s)
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
	// CheckTarget alone refuses plain http off this machine, so that a
	// caller does so before asking for a password.
	if _, err := CheckTarget("http://example.com/dav/"); !errors.Is(err, ErrTarget) {
		t.Errorf("CheckTarget of plain http to another machine: %v, want ErrTarget", err)
	}
	if _, err := CheckTarget("http://127.0.0.1:1/dav/"); err != nil {
		t.Errorf("CheckTarget of plain http to loopback: %v", err)
	}
	if got := Base("https://h/remote.php/dav/files/a/THL_1_2023/"); got != "THL_1_2023" {
		t.Errorf("Base = %q", got)
	}
}
