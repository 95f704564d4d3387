// Package accounts keeps the gateway's journals and uploader accounts:
// which journal folders exist, who may upload into which, which sender
// keys a journal accepts, and where its handlers are told. It is a small
// SQLite database in the data folder, shared by the server and the admin
// commands (which may run while the server does).
//
// Passwords are stored as bcrypt hashes. bcrypt rather than argon2id:
// WebDAV clients send the password with every request, and argon2id's
// memory cost (tens of MiB per check) would break the gateway's memory
// budget under parallel requests; bcrypt needs a few KiB. A successful
// check is remembered for a minute (keyed by an HMAC of the password with
// a per-process random key), so a busy upload does not pay bcrypt's cost
// per chunk; a changed password takes effect within that minute.
package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite" // pure-Go SQLite
)

// Errors.
var (
	ErrBadLogin = errors.New("wrong user name or password")
	ErrNotFound = errors.New("no such journal or user")
	ErrExists   = errors.New("already exists")
)

// Journal is one permit's journal folder.
type Journal struct {
	Folder   string
	Number   string
	Closed   bool
	Handlers []string // notification addresses for this journal (besides the deployment's)
	Lang     string   // notification language: fi, sv or en ("" = the deployment's)
	Senders  []string // registered Crypt4GH writer public keys (crypt4gh key file text)
	Users    []string
	Created  time.Time
}

// User is an uploader account.
type User struct {
	Name     string
	Disabled bool
	Folders  []string
	Created  time.Time
}

// Grant is a journal folder a user may access.
type Grant struct {
	Folder string
	Closed bool
}

const schema = `
CREATE TABLE IF NOT EXISTS journals (
	folder TEXT PRIMARY KEY, number TEXT NOT NULL UNIQUE, closed INTEGER NOT NULL DEFAULT 0,
	handlers TEXT NOT NULL DEFAULT '', lang TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
	name TEXT PRIMARY KEY, hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS grants (
	user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	folder TEXT NOT NULL REFERENCES journals(folder) ON DELETE CASCADE,
	PRIMARY KEY (user, folder));
CREATE TABLE IF NOT EXISTS senders (
	folder TEXT NOT NULL REFERENCES journals(folder) ON DELETE CASCADE,
	key TEXT NOT NULL, PRIMARY KEY (folder, key));`

// Store is the account database. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	now func() time.Time

	mu    sync.Mutex
	mac   []byte
	cache map[string]cached
}

type cached struct {
	sum   [32]byte
	until time.Time
}

// cacheFor is how long a verified password is remembered.
const cacheFor = time.Minute

// Cost is the bcrypt cost of new password hashes.
const Cost = 10

// Open opens (creating) the account database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("accounts: %w", err)
	}
	mac := make([]byte, 32)
	if _, err := rand.Read(mac); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, now: time.Now, mac: mac, cache: map[string]cached{}}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// AddJournal registers a journal folder.
func (s *Store) AddJournal(ctx context.Context, j Journal) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO journals(folder, number, handlers, lang, created) VALUES (?, ?, ?, ?, ?)`,
		j.Folder, j.Number, strings.Join(j.Handlers, ","), j.Lang, s.now().Unix())
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return fmt.Errorf("journal %s: %w", j.Number, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	return nil
}

// SetClosed closes (or reopens) a journal for uploads.
func (s *Store) SetClosed(ctx context.Context, folder string, closed bool) error {
	return s.exec1(ctx, `UPDATE journals SET closed = ? WHERE folder = ?`, closed, folder)
}

// SetHandlers replaces a journal's handler addresses and language.
func (s *Store) SetHandlers(ctx context.Context, folder string, handlers []string, lang string) error {
	return s.exec1(ctx, `UPDATE journals SET handlers = ?, lang = ? WHERE folder = ?`, strings.Join(handlers, ","), lang, folder)
}

// AddSender registers a writer public key (its crypt4gh key file text) for a journal.
func (s *Store) AddSender(ctx context.Context, folder, key string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO senders(folder, key) VALUES (?, ?) ON CONFLICT DO NOTHING`, folder, key)
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	return nil
}

func (s *Store) exec1(ctx context.Context, q string, args ...any) error {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Journal returns one journal with its senders and users.
func (s *Store) Journal(ctx context.Context, folder string) (Journal, error) {
	js, err := s.journals(ctx, `WHERE folder = ?`, folder)
	if err != nil {
		return Journal{}, err
	}
	if len(js) == 0 {
		return Journal{}, ErrNotFound
	}
	return js[0], nil
}

// Journals lists every journal.
func (s *Store) Journals(ctx context.Context) ([]Journal, error) { return s.journals(ctx, "") }

func (s *Store) journals(ctx context.Context, where string, args ...any) ([]Journal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT folder, number, closed, handlers, lang, created FROM journals `+where+` ORDER BY number`, args...)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	var out []Journal
	for rows.Next() {
		var j Journal
		var handlers string
		var created int64
		if err := rows.Scan(&j.Folder, &j.Number, &j.Closed, &handlers, &j.Lang, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("accounts: %w", err)
		}
		if handlers != "" {
			j.Handlers = strings.Split(handlers, ",")
		}
		j.Created = time.Unix(created, 0).UTC()
		out = append(out, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	for i := range out {
		if out[i].Senders, err = s.strings(ctx, `SELECT key FROM senders WHERE folder = ? ORDER BY key`, out[i].Folder); err != nil {
			return nil, err
		}
		if out[i].Users, err = s.strings(ctx, `SELECT user FROM grants WHERE folder = ? ORDER BY user`, out[i].Folder); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("accounts: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CheckUserName says whether name can be a user: it names a folder in
// URLs (/remote.php/dav/files/<user>/) and on disk, so 1 to 64 letters,
// digits and . _ @ -, not starting with a dot.
func CheckUserName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return fmt.Errorf("user name %q: 1 to 64 characters, not starting with a dot", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '@') {
			return fmt.Errorf("user name %q: use letters, digits and . - _ @", name)
		}
	}
	return nil
}

// AddUser creates an uploader account with a password.
func (s *Store) AddUser(ctx context.Context, name, password string) error {
	if err := CheckUserName(name); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), Cost)
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO users(name, hash, created) VALUES (?, ?, ?)`, name, string(hash), s.now().Unix())
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return fmt.Errorf("user %s: %w", name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	return nil
}

// SetPassword replaces a user's password.
func (s *Store) SetPassword(ctx context.Context, name, password string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), Cost)
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	// Forgotten after the change: a check in flight meanwhile may have
	// cached the old password again.
	defer s.forget(name)
	return s.exec1(ctx, `UPDATE users SET hash = ? WHERE name = ?`, string(hash), name)
}

// SetDisabled disables (or enables) a user.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	defer s.forget(name)
	return s.exec1(ctx, `UPDATE users SET disabled = ? WHERE name = ?`, disabled, name)
}

// DeleteUser removes a user and their grants.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	defer s.forget(name)
	return s.exec1(ctx, `DELETE FROM users WHERE name = ?`, name)
}

// Grant lets a user upload into a journal folder.
func (s *Store) Grant(ctx context.Context, user, folder string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO grants(user, folder) VALUES (?, ?) ON CONFLICT DO NOTHING`, user, folder)
	if err != nil {
		return fmt.Errorf("accounts: grant: %w", err)
	}
	return nil
}

// Revoke takes a journal folder away from a user.
func (s *Store) Revoke(ctx context.Context, user, folder string) error {
	return s.exec1(ctx, `DELETE FROM grants WHERE user = ? AND folder = ?`, user, folder)
}

// Users lists the accounts with their folders.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, disabled, created FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	var out []User
	for rows.Next() {
		var u User
		var created int64
		if err := rows.Scan(&u.Name, &u.Disabled, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("accounts: %w", err)
		}
		u.Created = time.Unix(created, 0).UTC()
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	for i := range out {
		if out[i].Folders, err = s.strings(ctx, `SELECT folder FROM grants WHERE user = ? ORDER BY folder`, out[i].Name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Authenticate checks a user's password; any failure is ErrBadLogin, so
// a caller cannot tell a wrong name from a wrong password.
func (s *Store) Authenticate(ctx context.Context, user, password string) error {
	sum := s.sum(user, password)
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[user]
	s.mu.Unlock()
	if ok && now.Before(c.until) && hmac.Equal(c.sum[:], sum[:]) {
		return nil
	}
	var hash string
	var disabled bool
	err := s.db.QueryRowContext(ctx, `SELECT hash, disabled FROM users WHERE name = ?`, user).Scan(&hash, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		// Spend the same time as a real check, so that timing does not
		// tell which user names exist.
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return ErrBadLogin
	}
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || disabled {
		return ErrBadLogin
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[user] = cached{sum: sum, until: now.Add(cacheFor)}
	s.mu.Unlock()
	return nil
}

// dummyHash is a bcrypt hash of nothing anyone types, at Cost, made on
// first use so that programs that never authenticate do not pay for it.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("siirto: no such user"), Cost)
	return h
})

func (s *Store) sum(user, password string) [32]byte {
	m := hmac.New(sha256.New, s.mac)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out
}

func (s *Store) forget(user string) {
	s.mu.Lock()
	delete(s.cache, user)
	s.mu.Unlock()
}

// Grants lists the journal folders a user may access, with their state.
// A disabled or unknown user has none.
func (s *Store) Grants(ctx context.Context, user string) ([]Grant, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT j.folder, j.closed FROM grants g JOIN journals j ON j.folder = g.folder
		JOIN users u ON u.name = g.user WHERE g.user = ? AND u.disabled = 0`, user)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		if err := rows.Scan(&g.Folder, &g.Closed); err != nil {
			return nil, fmt.Errorf("accounts: %w", err)
		}
		out = append(out, g)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Folder < out[b].Folder })
	return out, rows.Err()
}
