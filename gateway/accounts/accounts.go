// Package accounts keeps the gateway's journals and uploader accounts:
// which journal folders exist, who may upload into which, which sender
// keys a journal accepts, and where its handlers are told. It is a small
// database shared by the server and the admin commands (which may run
// while the server does): SQLite in the data folder (Open) for a single
// gateway, or the ledger's PostgreSQL database (OpenPostgres) when several
// workers share one ledger, so that every worker sees the same journals
// and users. Both run the same queries; the few dialect differences are
// in the schema migrations (see dialect).
//
// Passwords are stored as bcrypt hashes. bcrypt rather than argon2id:
// WebDAV clients send the password with every request, and argon2id's
// memory cost (tens of MiB per check) would break the gateway's memory
// budget under parallel requests; bcrypt needs a few KiB. A successful
// check is remembered (keyed by an HMAC of the password with a
// per-process random key) together with the stored hash it was checked
// against, so a busy upload does not pay bcrypt's cost per chunk. Every
// check still reads the user's row, one cheap query: a password changed,
// a user disabled or deleted, by this process or any other, takes effect
// at the next request.
package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"modernc.org/sqlite" // pure-Go SQLite
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/siirto/siirto/internal/pgdb"
)

// Errors the Store returns (wrapped, so test with errors.Is).
var (
	// ErrBadLogin is any failed Authenticate: unknown user, wrong
	// password or disabled account alike.
	ErrBadLogin = errors.New("wrong user name or password")
	// ErrNotFound is a change to a journal, user or grant that does not exist.
	ErrNotFound = errors.New("no such journal or user")
	// ErrExists is an AddJournal or AddUser whose folder, number or name is taken.
	ErrExists = errors.New("already exists")
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

// The schema, version i+1 at index i of each dialect's migrations. The
// tables are prefixed with accounts_ so that they sit beside the ledger's
// (bundles, history, outbox, meta, schema_migrations) in one PostgreSQL
// database. The two lists keep step, version for version, so that a
// version means the same tables whichever the engine; only the types
// differ. Both engines run the same queries: $N parameters (modernc's
// SQLite binds $N to the N-th argument, as PostgreSQL does), ON CONFLICT
// DO NOTHING, booleans written as Go bools and tested with NOT (SQLite
// keeps them as 0 and 1 in INTEGER columns), times as Unix seconds.
var (
	sqliteMigrations = []string{
		// 1: the schema as it was before migrations were versioned, so
		// that an existing state/accounts.db is taken over as it is.
		`CREATE TABLE IF NOT EXISTS journals (
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
			key TEXT NOT NULL, PRIMARY KEY (folder, key));`,
		// 2: the PostgreSQL names: prefixed tables, and grants.user_name
		// (user is a reserved word there, and unquoted it silently means
		// current_user). SQLite rewrites the foreign keys that name a
		// renamed table.
		`ALTER TABLE journals RENAME TO accounts_journals;
		ALTER TABLE users RENAME TO accounts_users;
		ALTER TABLE grants RENAME TO accounts_grants;
		ALTER TABLE accounts_grants RENAME COLUMN user TO user_name;
		ALTER TABLE senders RENAME TO accounts_senders;`,
	}
	// Text keys are COLLATE "C" so that ORDER BY sorts bytes, as SQLite
	// does, whatever the database's locale.
	pgMigrations = []string{
		`CREATE TABLE accounts_journals (
			folder text COLLATE "C" PRIMARY KEY,
			number text COLLATE "C" NOT NULL UNIQUE,
			closed boolean NOT NULL DEFAULT false,
			handlers text NOT NULL DEFAULT '',
			lang text NOT NULL DEFAULT '',
			created bigint NOT NULL);
		CREATE TABLE accounts_users (
			name text COLLATE "C" PRIMARY KEY,
			hash text NOT NULL,
			disabled boolean NOT NULL DEFAULT false,
			created bigint NOT NULL);
		CREATE TABLE accounts_grants (
			user_name text COLLATE "C" NOT NULL REFERENCES accounts_users(name) ON DELETE CASCADE,
			folder text COLLATE "C" NOT NULL REFERENCES accounts_journals(folder) ON DELETE CASCADE,
			PRIMARY KEY (user_name, folder));
		CREATE TABLE accounts_senders (
			folder text COLLATE "C" NOT NULL REFERENCES accounts_journals(folder) ON DELETE CASCADE,
			key text COLLATE "C" NOT NULL,
			PRIMARY KEY (folder, key));`,
		// 2: SQLite's renames; version 1 already has these names here.
		``,
	}
)

// pgMigrateLock is the pg_advisory_xact_lock key that serialises the
// accounts' migrations: workers starting at once take turns, and the later
// ones find the schema current. Arbitrary but fixed ("siirto.a" in ASCII),
// and not the ledger's key, so the two migrate independently.
const pgMigrateLock int64 = 0x73_69_69_72_74_6f_2e_61

// dialect is what differs between the engines: the migrations, and the
// statement that makes migrating exclusive. SQLite needs none: its
// transactions begin IMMEDIATE, which takes the database's write lock.
type dialect struct {
	name       string
	migrations []string
	lock       string // run first in the migration transaction, with pgMigrateLock; "" for none
}

var (
	sqliteDialect   = dialect{name: "sqlite", migrations: sqliteMigrations}
	postgresDialect = dialect{name: "postgres", migrations: pgMigrations, lock: `SELECT pg_advisory_xact_lock($1)`}
)

// Store is the account database. It is safe for concurrent use, and
// several Stores (in this process or others) may share one database.
type Store struct {
	db   *sql.DB
	now  func() time.Time
	cost int // bcrypt cost of new hashes: Cost, lowered by tests

	mu    sync.Mutex
	mac   []byte
	cache map[string]cached // user name → their last successful check
}

// cached is a successful password check: the password's sum and the
// stored hash it matched. It holds for as long as the user's row still
// has that hash.
type cached struct {
	sum  [32]byte
	hash string
}

// Cost is the bcrypt cost of new password hashes.
const Cost = 10

// Open opens (creating) the SQLite account database at path and brings
// its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	// Processes opening a new file at once race to switch it to WAL, which
	// needs the file to itself; SQLite tells the loser SQLITE_BUSY at once
	// instead of waiting (busy_timeout would deadlock there). The loser
	// tries again: by then the file is in WAL mode, which stays.
	deadline := time.Now().Add(10 * time.Second)
	for {
		db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("accounts: %w", err)
		}
		s, err := newStore(ctx, db, sqliteDialect)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(10+mrand.IntN(40)) * time.Millisecond):
		}
	}
}

// OpenPostgres connects to the PostgreSQL database at dsn (a URL or
// key=value connection string; the gateway passes its ledger_url) and
// brings the accounts' tables up to date. Several workers may open the
// same database at once: one migrates while the others wait on an
// advisory lock. A schema newer than this binary is refused.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := pgdb.Open(dsn)
	if err != nil {
		return nil, fmt.Errorf("accounts: postgres: %w", err)
	}
	return newStore(ctx, db, postgresDialect)
}

// newStore migrates db and returns the Store on it, closing db on failure.
func newStore(ctx context.Context, db *sql.DB, d dialect) (*Store, error) {
	if err := migrate(ctx, db, d); err != nil {
		db.Close()
		return nil, err
	}
	mac := make([]byte, 32)
	if _, err := rand.Read(mac); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, now: time.Now, cost: Cost, mac: mac, cache: map[string]cached{}}, nil
}

// migrate applies the missing migrations in one transaction, recording
// each version in accounts_migrations.
func migrate(ctx context.Context, db *sql.DB, d dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("accounts: %s: %w", d.name, err)
	}
	defer tx.Rollback()
	if d.lock != "" {
		// Held until the transaction ends: a second worker waits here and
		// then finds every version applied.
		if _, err := tx.ExecContext(ctx, d.lock, pgMigrateLock); err != nil {
			return fmt.Errorf("accounts: %s: migration lock: %w", d.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS accounts_migrations (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("accounts: %s: %w", d.name, err)
	}
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM accounts_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("accounts: %s: schema version: %w", d.name, err)
	}
	if v > len(d.migrations) {
		return fmt.Errorf("accounts: %s: schema version %d is newer than this siirto-gateway knows (%d): upgrade the binary", d.name, v, len(d.migrations))
	}
	for i := v; i < len(d.migrations); i++ {
		if d.migrations[i] != "" {
			if _, err := tx.ExecContext(ctx, d.migrations[i]); err != nil {
				return fmt.Errorf("accounts: %s: migration %d: %w", d.name, i+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts_migrations(version, applied_at) VALUES ($1, $2)`, i+1, time.Now().Unix()); err != nil {
			return fmt.Errorf("accounts: %s: migration %d: %w", d.name, i+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("accounts: %s: %w", d.name, err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// AddJournal registers a journal folder.
func (s *Store) AddJournal(ctx context.Context, j Journal) error {
	// ON CONFLICT DO NOTHING with no target covers both the folder and
	// the number, and tells a taken one by no row inserted rather than by
	// each engine's error.
	added, err := s.insert(ctx, `INSERT INTO accounts_journals(folder, number, handlers, lang, created) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`, j.Folder, j.Number, strings.Join(j.Handlers, ","), j.Lang, s.now().Unix())
	if err != nil {
		return err
	}
	if !added {
		return fmt.Errorf("journal %s: %w", j.Number, ErrExists)
	}
	return nil
}

// SetClosed closes (or reopens) a journal for uploads.
func (s *Store) SetClosed(ctx context.Context, folder string, closed bool) error {
	return s.exec1(ctx, `UPDATE accounts_journals SET closed = $1 WHERE folder = $2`, closed, folder)
}

// SetHandlers replaces a journal's handler addresses and language.
func (s *Store) SetHandlers(ctx context.Context, folder string, handlers []string, lang string) error {
	return s.exec1(ctx, `UPDATE accounts_journals SET handlers = $1, lang = $2 WHERE folder = $3`, strings.Join(handlers, ","), lang, folder)
}

// AddSender registers a writer public key (its crypt4gh key file text) for a journal.
func (s *Store) AddSender(ctx context.Context, folder, key string) error {
	_, err := s.insert(ctx, `INSERT INTO accounts_senders(folder, key) VALUES ($1, $2) ON CONFLICT DO NOTHING`, folder, key)
	return err
}

// insert runs an INSERT … ON CONFLICT DO NOTHING and says whether it
// inserted a row.
func (s *Store) insert(ctx context.Context, q string, args ...any) (bool, error) {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("accounts: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("accounts: %w", err)
	}
	return n > 0, nil
}

func (s *Store) exec1(ctx context.Context, q string, args ...any) error {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("accounts: %w", err)
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Journal returns one journal with its senders and users.
func (s *Store) Journal(ctx context.Context, folder string) (Journal, error) {
	js, err := s.journals(ctx, `WHERE folder = $1`, folder)
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
	rows, err := s.db.QueryContext(ctx, `SELECT folder, number, closed, handlers, lang, created FROM accounts_journals `+where+` ORDER BY number`, args...)
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
	if len(out) == 0 {
		return out, nil
	}
	// One query per list for all the journals selected (the same where
	// and args, as a subquery), not one per journal.
	in := `WHERE folder IN (SELECT folder FROM accounts_journals ` + where + `)`
	senders, err := s.groups(ctx, `SELECT folder, key FROM accounts_senders `+in+` ORDER BY folder, key`, args...)
	if err != nil {
		return nil, err
	}
	users, err := s.groups(ctx, `SELECT folder, user_name FROM accounts_grants `+in+` ORDER BY folder, user_name`, args...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Senders, out[i].Users = senders[out[i].Folder], users[out[i].Folder]
	}
	return out, nil
}

// groups runs q, which selects (key, value) pairs, and groups the values
// by key, keeping q's order within each.
func (s *Store) groups(ctx context.Context, q string, args ...any) (map[string][]string, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("accounts: %w", err)
		}
		out[k] = append(out[k], v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return out, nil
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
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	added, err := s.insert(ctx, `INSERT INTO accounts_users(name, hash, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		name, string(hash), s.now().Unix())
	if err != nil {
		return err
	}
	if !added {
		return fmt.Errorf("user %s: %w", name, ErrExists)
	}
	return nil
}

// SetPassword replaces a user's password.
func (s *Store) SetPassword(ctx context.Context, name, password string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	// No cache to clear: a remembered check holds only while the row
	// keeps the hash it was made against, in every process.
	return s.exec1(ctx, `UPDATE accounts_users SET hash = $1 WHERE name = $2`, string(hash), name)
}

// SetDisabled disables (or enables) a user.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return s.exec1(ctx, `UPDATE accounts_users SET disabled = $1 WHERE name = $2`, disabled, name)
}

// DeleteUser removes a user and their grants.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.exec1(ctx, `DELETE FROM accounts_users WHERE name = $1`, name)
}

// Grant lets a user upload into a journal folder.
func (s *Store) Grant(ctx context.Context, user, folder string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO accounts_grants(user_name, folder) VALUES ($1, $2) ON CONFLICT DO NOTHING`, user, folder)
	if err != nil {
		return fmt.Errorf("accounts: grant: %w", err)
	}
	return nil
}

// Revoke takes a journal folder away from a user.
func (s *Store) Revoke(ctx context.Context, user, folder string) error {
	return s.exec1(ctx, `DELETE FROM accounts_grants WHERE user_name = $1 AND folder = $2`, user, folder)
}

// Users lists the accounts with their folders.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, disabled, created FROM accounts_users ORDER BY name`)
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
	if len(out) == 0 {
		return out, nil
	}
	folders, err := s.groups(ctx, `SELECT user_name, folder FROM accounts_grants ORDER BY user_name, folder`)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Folders = folders[out[i].Name]
	}
	return out, nil
}

// HasUser reports whether an account named name exists, disabled or not.
func (s *Store) HasUser(ctx context.Context, name string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM accounts_users WHERE name = $1`, name).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("accounts: %w", err)
	}
	return true, nil
}

// Authenticate checks a user's password; any failure is ErrBadLogin, so
// a caller cannot tell a wrong name from a wrong password.
//
// It reads the user's row every time (one indexed query), and skips
// bcrypt only when it remembers this very password matching this very
// stored hash: a new password (a new hash, salted afresh even for the
// same password), a disabled account or a deleted one counts at once,
// whichever process made the change.
func (s *Store) Authenticate(ctx context.Context, user, password string) error {
	var hash string
	var disabled bool
	err := s.db.QueryRowContext(ctx, `SELECT hash, disabled FROM accounts_users WHERE name = $1`, user).Scan(&hash, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		s.mu.Lock()
		delete(s.cache, user)
		s.mu.Unlock()
		// Spend the same time as a real check, so that timing does not
		// tell which user names exist.
		_ = bcrypt.CompareHashAndPassword(dummyHash(s.cost), []byte(password))
		return ErrBadLogin
	}
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if disabled {
		// bcrypt still, so that timing does not tell a disabled account
		// from a wrong password.
		_ = bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		return ErrBadLogin
	}
	sum := s.sum(user, password)
	s.mu.Lock()
	c, ok := s.cache[user]
	s.mu.Unlock()
	if ok && c.hash == hash && hmac.Equal(c.sum[:], sum[:]) {
		return nil
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return ErrBadLogin
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[user] = cached{sum: sum, hash: hash}
	s.mu.Unlock()
	return nil
}

// dummyHash is a bcrypt hash of nothing anyone types, at cost, made on
// first use so that programs that never authenticate do not pay for it.
func dummyHash(cost int) []byte {
	if h, ok := dummyHashes.Load(cost); ok {
		return h.([]byte)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("siirto: no such user"), cost)
	h2, _ := dummyHashes.LoadOrStore(cost, h)
	return h2.([]byte)
}

var dummyHashes sync.Map // bcrypt cost → dummy hash

func (s *Store) sum(user, password string) [32]byte {
	m := hmac.New(sha256.New, s.mac)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out
}

// Grants lists the journal folders a user may access, with their state.
// A disabled or unknown user has none.
func (s *Store) Grants(ctx context.Context, user string) ([]Grant, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT j.folder, j.closed FROM accounts_grants g JOIN accounts_journals j ON j.folder = g.folder
		JOIN accounts_users u ON u.name = g.user_name WHERE g.user_name = $1 AND NOT u.disabled`, user)
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
