package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/siirto/siirto/internal/testserver"
	"golang.org/x/crypto/bcrypt"
)

// The store's behaviours, run against SQLite (always) and PostgreSQL (on
// a private cluster the test starts; skipped with -short), each case on a
// fresh, empty database. A store that passes on one engine and not the
// other has a dialect bug.

// database is one case's fresh database: open opens another Store on it
// (closed when the test ends), so a case can play several processes.
type database struct {
	engine string
	// connect opens a Store on the database, for goroutines (t.Fatal is
	// for the test's own).
	connect func(context.Context) (*Store, error)
}

// fast lowers a store's bcrypt cost: Cost takes most of a second per hash
// under the race detector, and these tests make dozens.
func fast(s *Store, err error) (*Store, error) {
	if s != nil {
		s.cost = bcrypt.MinCost
	}
	return s, err
}

func (d database) open(t *testing.T) *Store {
	t.Helper()
	s, err := d.connect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var storeCases = []struct {
	name string
	run  func(t *testing.T, d database)
}{
	{"Accounts", testAccounts},
	{"UserNames", testUserNames},
	{"Order", testOrder},
	{"Lists", testLists},
	{"TwoStores", testTwoStores},
	{"Reopen", testReopen},
	{"ConcurrentOpen", testConcurrentOpen},
	{"NewerSchema", testNewerSchema},
}

// TestStore runs the case table on each engine.
func TestStore(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		for _, c := range storeCases {
			t.Run(c.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "accounts.db")
				c.run(t, database{"sqlite", func(ctx context.Context) (*Store, error) { return fast(Open(ctx, path)) }})
			})
		}
	})
	t.Run("postgres", func(t *testing.T) {
		pg := testserver.Postgres(t)
		for _, c := range storeCases {
			t.Run(c.name, func(t *testing.T) {
				dsn := pg.NewDatabase()
				c.run(t, database{"postgres", func(ctx context.Context) (*Store, error) { return fast(OpenPostgres(ctx, dsn)) }})
			})
		}
	})
}

func testAccounts(t *testing.T, d database) {
	ctx := t.Context()
	s := d.open(t)
	if err := s.AddJournal(ctx, Journal{Folder: "2022_53", Number: "2022/53", Handlers: []string{"a@example.fi"}, Lang: "sv"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddJournal(ctx, Journal{Folder: "2022_53", Number: "2022/53"}); !errors.Is(err, ErrExists) {
		t.Fatalf("a second journal 2022/53: %v", err)
	}
	if err := s.AddJournal(ctx, Journal{Folder: "other", Number: "2022/53"}); !errors.Is(err, ErrExists) {
		t.Fatalf("the number again in another folder: %v", err)
	}
	if err := s.AddSender(ctx, "2022_53", "KEY B"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time is a no-op
		if err := s.AddSender(ctx, "2022_53", "KEY A"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddSender(ctx, "nope", "KEY A"); err == nil {
		t.Fatal("a sender key for an unknown journal")
	}
	if err := s.AddUser(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ctx, "alice", "another password"); !errors.Is(err, ErrExists) {
		t.Fatalf("a second alice: %v", err)
	}
	for range 2 {
		if err := s.Grant(ctx, "alice", "2022_53"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Grant(ctx, "alice", "nope"); err == nil {
		t.Fatal("a grant of an unknown journal")
	}
	if err := s.Grant(ctx, "nobody", "2022_53"); err == nil {
		t.Fatal("a grant to an unknown user")
	}
	if err := s.Authenticate(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ user, pw string }{{"alice", "wrong"}, {"bob", "correct horse battery"}, {"alice", ""}, {"Alice", "correct horse battery"}} {
		if err := s.Authenticate(ctx, c.user, c.pw); !errors.Is(err, ErrBadLogin) {
			t.Errorf("%s/%q: %v", c.user, c.pw, err)
		}
	}
	// The right password again, from the cache, after the wrong ones.
	if err := s.Authenticate(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
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
	if err := s.SetClosed(ctx, "nope", true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("closing an unknown journal: %v", err)
	}
	if err := s.SetHandlers(ctx, "2022_53", []string{"b@example.fi", "c@example.fi"}, "en"); err != nil {
		t.Fatal(err)
	}
	j, err := s.Journal(ctx, "2022_53")
	if err != nil {
		t.Fatal(err)
	}
	want := Journal{Folder: "2022_53", Number: "2022/53", Closed: true, Handlers: []string{"b@example.fi", "c@example.fi"}, Lang: "en",
		Senders: []string{"KEY A", "KEY B"}, Users: []string{"alice"}, Created: j.Created}
	if fmt.Sprint(j) != fmt.Sprint(want) || j.Created.IsZero() {
		t.Fatalf("journal\n got %+v\nwant %+v", j, want)
	}
	if _, err := s.Journal(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown journal: %v", err)
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
	if err := s.SetPassword(ctx, "nobody", "new password here"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("password of an unknown user: %v", err)
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
	us, err := s.Users(ctx)
	if err != nil || len(us) != 1 || us[0].Name != "alice" || !us[0].Disabled || !slices.Equal(us[0].Folders, []string{"2022_53"}) || us[0].Created.IsZero() {
		t.Fatalf("users %+v %v", us, err)
	}
	if err := s.SetDisabled(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	if err := s.Authenticate(ctx, "alice", "new password here"); err != nil {
		t.Fatalf("enabled again: %v", err)
	}
	if err := s.Revoke(ctx, "alice", "2022_53"); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, "alice", "2022_53"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	if err := s.Grant(ctx, "alice", "2022_53"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.Authenticate(ctx, "alice", "new password here"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("deleted user: %v", err)
	}
	j, err = s.Journal(ctx, "2022_53")
	if err != nil || len(j.Users) != 0 || len(j.Handlers) != 2 {
		t.Fatalf("journal %+v %v", j, err)
	}
}

// testUserNames: the rule WebDAV paths need is the one accounts enforce.
func testUserNames(t *testing.T, d database) {
	s := d.open(t)
	for _, bad := range []string{"", ".x", "..", "a/b", "ä", strings.Repeat("a", 65)} {
		if err := s.AddUser(t.Context(), bad, "a long enough password"); err == nil {
			t.Errorf("user %q was created", bad)
		}
	}
	if err := s.AddUser(t.Context(), "alice.o-k_1@x", "a long enough password"); err != nil {
		t.Error(err)
	}
}

// testOrder: lists sort by bytes on both engines, whatever PostgreSQL's
// locale would say.
func testOrder(t *testing.T, d database) {
	ctx := t.Context()
	s := d.open(t)
	names := []string{"b", "B", "a-2", "a_1", "a.3", "A@4", "_z"}
	for i, n := range names {
		if err := s.AddJournal(ctx, Journal{Folder: fmt.Sprint("f", i), Number: n}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddUser(ctx, n, "a long enough password"); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Sorted(slices.Values(names))
	js, err := s.Journals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range js {
		got = append(got, j.Number)
	}
	if !slices.Equal(got, want) {
		t.Errorf("journals in order %q, want %q", got, want)
	}
	us, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, u := range us {
		got = append(got, u.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("users in order %q, want %q", got, want)
	}
}

// testLists: Journals, Journal and Users give each row its own senders,
// users and folders, though they load them for all rows at once; HasUser
// finds a user, disabled or not.
func testLists(t *testing.T, d database) {
	ctx := t.Context()
	s := d.open(t)
	for _, f := range []string{"f1", "f2", "f3"} {
		if err := s.AddJournal(ctx, Journal{Folder: f, Number: "n" + f}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"u1", "u2", "u3"} {
		if err := s.AddUser(ctx, u, "a long enough password"); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range [][2]string{{"u2", "f1"}, {"u1", "f1"}, {"u1", "f2"}} {
		if err := s.Grant(ctx, g[0], g[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range [][2]string{{"f2", "K2"}, {"f1", "K1b"}, {"f1", "K1a"}} {
		if err := s.AddSender(ctx, k[0], k[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetDisabled(ctx, "u3", true); err != nil {
		t.Fatal(err)
	}
	js, err := s.Journals(ctx)
	if err != nil || len(js) != 3 {
		t.Fatalf("journals %+v %v", js, err)
	}
	want := map[string][2][]string{ // folder → users, senders
		"f1": {{"u1", "u2"}, {"K1a", "K1b"}},
		"f2": {{"u1"}, {"K2"}},
		"f3": {nil, nil},
	}
	for _, j := range js {
		if w := want[j.Folder]; !slices.Equal(j.Users, w[0]) || !slices.Equal(j.Senders, w[1]) {
			t.Errorf("Journals: %s has users %q and senders %q, want %q and %q", j.Folder, j.Users, j.Senders, w[0], w[1])
		}
	}
	j, err := s.Journal(ctx, "f2")
	if w := want["f2"]; err != nil || !slices.Equal(j.Users, w[0]) || !slices.Equal(j.Senders, w[1]) {
		t.Errorf("Journal f2: %+v %v", j, err)
	}
	us, err := s.Users(ctx)
	if err != nil || len(us) != 3 {
		t.Fatalf("users %+v %v", us, err)
	}
	folders := map[string][]string{"u1": {"f1", "f2"}, "u2": {"f1"}, "u3": nil}
	for _, u := range us {
		if !slices.Equal(u.Folders, folders[u.Name]) {
			t.Errorf("Users: %s has folders %q, want %q", u.Name, u.Folders, folders[u.Name])
		}
	}
	for name, want := range map[string]bool{"u1": true, "u3": true, "nobody": false} {
		if got, err := s.HasUser(ctx, name); err != nil || got != want {
			t.Errorf("HasUser(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
}

// testTwoStores: two stores on one database, as two workers (or a worker
// and an admin command) have them, see each other's changes at once,
// including through the login cache.
func testTwoStores(t *testing.T, d database) {
	ctx := t.Context()
	a, b := d.open(t), d.open(t)
	if err := a.AddJournal(ctx, Journal{Folder: "2024_1", Number: "2024/1"}); err != nil {
		t.Fatal(err)
	}
	if err := a.AddUser(ctx, "u", "first password"); err != nil {
		t.Fatal(err)
	}
	if err := a.Grant(ctx, "u", "2024_1"); err != nil {
		t.Fatal(err)
	}
	if j, err := b.Journal(ctx, "2024_1"); err != nil || !slices.Equal(j.Users, []string{"u"}) {
		t.Fatalf("the other store's journal: %+v %v", j, err)
	}
	if g, err := b.Grants(ctx, "u"); err != nil || len(g) != 1 || g[0].Folder != "2024_1" {
		t.Fatalf("the other store's grants: %+v %v", g, err)
	}
	if err := b.AddUser(ctx, "u", "first password"); !errors.Is(err, ErrExists) {
		t.Fatalf("the same user from the other store: %v", err)
	}

	// The old password is cached in b; a's change counts there at once.
	if err := b.Authenticate(ctx, "u", "first password"); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.cache["u"]; !ok {
		t.Fatal("a successful check was not remembered")
	}
	if err := a.SetPassword(ctx, "u", "second password"); err != nil {
		t.Fatal(err)
	}
	if err := b.Authenticate(ctx, "u", "first password"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("the old password after another store changed it: %v", err)
	}
	if err := b.Authenticate(ctx, "u", "second password"); err != nil {
		t.Fatal(err)
	}
	// The same password set again is a new hash (a new salt), and the
	// check is remade, still succeeding.
	if err := a.SetPassword(ctx, "u", "second password"); err != nil {
		t.Fatal(err)
	}
	if err := b.Authenticate(ctx, "u", "second password"); err != nil {
		t.Fatal(err)
	}

	// Disabled in a: refused in b at once, though cached there; grants gone.
	if err := a.SetDisabled(ctx, "u", true); err != nil {
		t.Fatal(err)
	}
	if err := b.Authenticate(ctx, "u", "second password"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("a user disabled in another store: %v", err)
	}
	if g, _ := b.Grants(ctx, "u"); len(g) != 0 {
		t.Fatalf("a disabled user has grants in the other store: %+v", g)
	}
	if err := a.SetDisabled(ctx, "u", false); err != nil {
		t.Fatal(err)
	}
	if err := b.Authenticate(ctx, "u", "second password"); err != nil {
		t.Fatalf("enabled again in another store: %v", err)
	}

	// Deleted in a, and made again with the same password: the cached
	// check in b is for the old row's hash, so b checks afresh.
	if err := a.DeleteUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if err := b.Authenticate(ctx, "u", "second password"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("a user deleted in another store: %v", err)
	}
	if err := b.Authenticate(ctx, "u", "second password"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("a user deleted in another store, again: %v", err)
	}
	if err := a.AddUser(ctx, "u", "third password"); err != nil {
		t.Fatal(err)
	}
	if err := b.Authenticate(ctx, "u", "second password"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("a deleted user's password for the new one: %v", err)
	}
	if err := b.Authenticate(ctx, "u", "third password"); err != nil {
		t.Fatal(err)
	}
	if j, _ := b.Journal(ctx, "2024_1"); len(j.Users) != 0 {
		t.Fatalf("the deleted user's grant outlived them: %+v", j)
	}

	// Journal changes in b show in a.
	if err := b.SetClosed(ctx, "2024_1", true); err != nil {
		t.Fatal(err)
	}
	if err := b.AddSender(ctx, "2024_1", "KEY"); err != nil {
		t.Fatal(err)
	}
	if j, err := a.Journal(ctx, "2024_1"); err != nil || !j.Closed || !slices.Equal(j.Senders, []string{"KEY"}) {
		t.Fatalf("journal changed in the other store: %+v %v", j, err)
	}
}

// versions reads the migrations a store's database records.
func versions(t *testing.T, s *Store) (n int, last int, appliedSum int64) {
	t.Helper()
	if err := s.db.QueryRowContext(t.Context(), `SELECT COUNT(*), MAX(version), SUM(applied_at) FROM accounts_migrations`).Scan(&n, &last, &appliedSum); err != nil {
		t.Fatal(err)
	}
	return n, last, appliedSum
}

// testReopen: opening a current database again changes nothing.
func testReopen(t *testing.T, d database) {
	ctx := t.Context()
	a := d.open(t)
	n, last, applied := versions(t, a)
	if mig := len(migrationsOf(d)); n != mig || last != mig {
		t.Fatalf("after the first open: %d migrations recorded, the last %d; want %d", n, last, mig)
	}
	if err := a.AddJournal(ctx, Journal{Folder: "2024_1", Number: "2024/1"}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b := d.open(t)
	if n2, last2, applied2 := versions(t, b); n2 != n || last2 != last || applied2 != applied {
		t.Fatalf("reopening migrated again: %d/%d/%d, was %d/%d/%d", n2, last2, applied2, n, last, applied)
	}
	if _, err := b.Journal(ctx, "2024_1"); err != nil {
		t.Fatalf("the journal after reopening: %v", err)
	}
}

func migrationsOf(d database) []string {
	if d.engine == "postgres" {
		return pgMigrations
	}
	return sqliteMigrations
}

// testConcurrentOpen: workers starting together on a fresh database all
// open it; one migrates, the others wait (PostgreSQL's advisory lock,
// SQLite's immediate transaction) and find it current.
func testConcurrentOpen(t *testing.T, d database) {
	const n = 4
	var wg sync.WaitGroup
	stores := make([]*Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = d.connect(t.Context()) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("open %d: %v", i, errs[i])
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	if got, last, _ := versions(t, stores[0]); got != len(migrationsOf(d)) || last != got {
		t.Fatalf("%d migrations recorded, the last %d; want %d", got, last, len(migrationsOf(d)))
	}
	if err := stores[1].AddUser(t.Context(), "u", "a long enough password"); err != nil {
		t.Fatal(err)
	}
	if err := stores[n-1].Authenticate(t.Context(), "u", "a long enough password"); err != nil {
		t.Fatal(err)
	}
}

// testNewerSchema: a binary older than the database's schema refuses it.
func testNewerSchema(t *testing.T, d database) {
	s := d.open(t)
	if _, err := s.db.ExecContext(t.Context(), `INSERT INTO accounts_migrations(version, applied_at) VALUES ($1, 0)`, len(migrationsOf(d))+1); err != nil {
		t.Fatal(err)
	}
	if s2, err := d.connect(t.Context()); err == nil || !strings.Contains(err.Error(), "newer") {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("a newer schema was opened: %v", err)
	}
}

// TestSQLiteUpgrade: a state/accounts.db made before migrations were
// versioned (the schema of sqliteMigrations[0], unrecorded) is taken over
// with its data, and its foreign keys still cascade after the renames.
func TestSQLiteUpgrade(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "accounts.db")
	old, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("old password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		sqliteMigrations[0],
		`INSERT INTO journals(folder, number, closed, handlers, lang, created) VALUES ('2020_1', '2020/1', 1, 'h@example.fi', 'fi', 1600000000)`,
		`INSERT INTO users(name, hash, created) VALUES ('alice', '` + string(hash) + `', 1600000000)`,
		`INSERT INTO users(name, hash, disabled, created) VALUES ('bob', '` + string(hash) + `', 1, 1600000000)`,
		`INSERT INTO grants(user, folder) VALUES ('alice', '2020_1'), ('bob', '2020_1')`,
		`INSERT INTO senders(folder, key) VALUES ('2020_1', 'KEY')`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()

	s, err := fast(Open(ctx, path))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, last, _ := versions(t, s); n != len(sqliteMigrations) || last != n {
		t.Fatalf("%d migrations recorded, the last %d", n, last)
	}
	j, err := s.Journal(ctx, "2020_1")
	if err != nil || !j.Closed || j.Number != "2020/1" || j.Lang != "fi" || !slices.Equal(j.Handlers, []string{"h@example.fi"}) ||
		!slices.Equal(j.Senders, []string{"KEY"}) || !slices.Equal(j.Users, []string{"alice", "bob"}) || j.Created.Unix() != 1600000000 {
		t.Fatalf("journal after the upgrade: %+v %v", j, err)
	}
	if err := s.Authenticate(ctx, "alice", "old password"); err != nil {
		t.Fatal(err)
	}
	if err := s.Authenticate(ctx, "bob", "old password"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("disabled bob: %v", err)
	}
	if g, err := s.Grants(ctx, "alice"); err != nil || len(g) != 1 || !g[0].Closed {
		t.Fatalf("grants after the upgrade: %+v %v", g, err)
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.Journal(ctx, "2020_1"); !slices.Equal(j.Users, []string{"bob"}) {
		t.Fatalf("deleting a user did not cascade to grants: %+v", j)
	}
	if err := s.Grant(ctx, "carol", "2020_1"); err == nil {
		t.Fatal("a grant to an unknown user after the upgrade: foreign keys lost")
	}
}
