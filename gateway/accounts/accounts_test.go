package accounts

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "accounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	if err := s.AddJournal(ctx, Journal{Folder: "2022_53", Number: "2022/53", Handlers: []string{"a@example.fi"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddJournal(ctx, Journal{Folder: "2022_53", Number: "2022/53"}); !errors.Is(err, ErrExists) {
		t.Fatalf("a second journal 2022/53: %v", err)
	}
	if err := s.AddUser(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if err := s.Grant(ctx, "alice", "2022_53"); err != nil {
		t.Fatal(err)
	}
	if err := s.Authenticate(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ user, pw string }{{"alice", "wrong"}, {"bob", "correct horse battery"}, {"alice", ""}} {
		if err := s.Authenticate(ctx, c.user, c.pw); !errors.Is(err, ErrBadLogin) {
			t.Errorf("%s/%q: %v", c.user, c.pw, err)
		}
	}
	g, err := s.Grants(ctx, "alice")
	if err != nil || len(g) != 1 || g[0].Folder != "2022_53" || g[0].Closed {
		t.Fatalf("grants %+v %v", g, err)
	}
	if err := s.SetClosed(ctx, "2022_53", true); err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Grants(ctx, "alice"); len(g) != 1 || !g[0].Closed {
		t.Fatalf("closed journal: %+v", g)
	}
	// A new password works at once in this process; the old one does not,
	// even though it was cached.
	if err := s.SetPassword(ctx, "alice", "new password here"); err != nil {
		t.Fatal(err)
	}
	if err := s.Authenticate(ctx, "alice", "correct horse battery"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("old password after change: %v", err)
	}
	if err := s.Authenticate(ctx, "alice", "new password here"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if err := s.Authenticate(ctx, "alice", "new password here"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("disabled user: %v", err)
	}
	if g, _ := s.Grants(ctx, "alice"); len(g) != 0 {
		t.Fatalf("a disabled user has grants %+v", g)
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	j, err := s.Journal(ctx, "2022_53")
	if err != nil || len(j.Users) != 0 || len(j.Handlers) != 1 {
		t.Fatalf("journal %+v %v", j, err)
	}
}

// TestCacheExpires: another process's password change takes effect once
// the cached check expires.
func TestCacheExpires(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "accounts.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now()
	a.now = func() time.Time { return now }
	if err := a.AddUser(ctx, "u", "first password"); err != nil {
		t.Fatal(err)
	}
	if err := a.Authenticate(ctx, "u", "first password"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetPassword(ctx, "u", "second password"); err != nil {
		t.Fatal(err)
	}
	if err := a.Authenticate(ctx, "u", "first password"); err != nil {
		t.Fatal("within the cache minute the old password still works here:", err)
	}
	now = now.Add(cacheFor + time.Second)
	if err := a.Authenticate(ctx, "u", "first password"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("after the cache expired: %v", err)
	}
}

// TestUserNames: the rule WebDAV paths need is the one accounts enforce.
func TestUserNames(t *testing.T) {
	s := open(t)
	for _, bad := range []string{"", ".x", "..", "a/b", "ä", strings.Repeat("a", 65)} {
		if err := s.AddUser(context.Background(), bad, "a long enough password"); err == nil {
			t.Errorf("user %q was created", bad)
		}
	}
	if err := s.AddUser(context.Background(), "alice.o-k_1@x", "a long enough password"); err != nil {
		t.Error(err)
	}
}
