package clients

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// StoreContract exercises any Store the same way: the local store in
// local_test.go, the WebDAV store against a real Apache in webdav_test.go.
// It lives in a _test file, so it is compiled only into this package's
// tests (and exported to the external test package clients_test).
func StoreContract(t *testing.T, s Store) {
	t.Helper()
	StoreContractCaps(t, s, StoreCaps{})
}

// StoreCaps are where a kind of store genuinely differs from a file system.
type StoreCaps struct {
	// ImplicitFolders: folders are key prefixes (S3), so a Put into a
	// folder no one made succeeds, the folder then exists, and it is gone
	// again once nothing lies under it.
	ImplicitFolders bool
}

// StoreContractCaps is StoreContract for a store with caps.
func StoreContractCaps(t *testing.T, s Store, caps StoreCaps) {
	t.Helper()
	ctx := context.Background()
	if err := s.Mkdir(ctx, "J"); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	if err := s.Mkdir(ctx, "J"); err != nil {
		t.Fatalf("mkdir of an existing folder: %v", err)
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
	// Rename moves a file, replacing what was there.
	if err := s.Put(ctx, "J/other", strings.NewReader("other"), 5); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, "J/other", "J/moved"); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if err := s.Put(ctx, "J/other", strings.NewReader("again"), 5); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, "J/other", "J/moved"); err != nil {
		t.Fatalf("rename over a file: %v", err)
	}
	if r, err := s.Open(ctx, "J/moved"); err != nil {
		t.Fatal(err)
	} else {
		got, _ := io.ReadAll(r)
		r.Close()
		if string(got) != "again" {
			t.Fatalf("after rename over a file, it holds %q", got)
		}
	}
	if _, err := s.Stat(ctx, "J/other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the source of a rename still exists: %v", err)
	}
	if err := s.Remove(ctx, "J/moved"); err != nil {
		t.Fatal(err)
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
	if !caps.ImplicitFolders {
		if err := s.Put(ctx, "nope/x", strings.NewReader("x"), 1); err == nil {
			t.Fatal("put into a missing folder succeeded")
		}
	} else {
		if err := s.Put(ctx, "nope/x", strings.NewReader("x"), 1); err != nil {
			t.Fatalf("put into a folder no one made: %v", err)
		}
		if st, err := s.Stat(ctx, "nope"); err != nil || !st.Dir || st.Name != "nope" {
			t.Fatalf("stat of the folder a put made: %+v, %v", st, err)
		}
		if err := s.Remove(ctx, "nope/x"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a folder of nothing but a removed file is still there: %v", err)
		}
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
