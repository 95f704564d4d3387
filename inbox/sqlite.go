package inbox

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver: no cgo, one static binary
)

// migrations are applied in order, each once; their index+1 is the
// schema version kept in PRAGMA user_version.
var migrations = []string{
	`CREATE TABLE bundles (
		id TEXT PRIMARY KEY,
		folder TEXT NOT NULL,
		name TEXT NOT NULL,
		journal TEXT NOT NULL DEFAULT '',
		state TEXT NOT NULL,
		outcome TEXT NOT NULL DEFAULT '',
		code TEXT NOT NULL DEFAULT '',
		detail TEXT NOT NULL DEFAULT '',
		payload_size INTEGER NOT NULL DEFAULT 0,
		payload_sha256 TEXT NOT NULL DEFAULT '',
		plaintext_size INTEGER NOT NULL DEFAULT 0,
		plaintext_sha256 TEXT NOT NULL DEFAULT '',
		files INTEGER NOT NULL DEFAULT 0,
		staging TEXT NOT NULL DEFAULT '',
		attempts INTEGER NOT NULL DEFAULT 0,
		next_attempt INTEGER NOT NULL DEFAULT 0,
		claimed_by TEXT NOT NULL DEFAULT '',
		lease_until INTEGER NOT NULL DEFAULT 0,
		detected_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		delivered_at INTEGER NOT NULL DEFAULT 0,
		purged_at INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX bundles_state ON bundles(state, next_attempt);
	CREATE INDEX bundles_folder ON bundles(folder, detected_at);
	CREATE TABLE history (
		bundle_id TEXT NOT NULL REFERENCES bundles(id),
		state TEXT NOT NULL,
		code TEXT NOT NULL DEFAULT '',
		at INTEGER NOT NULL
	);
	CREATE INDEX history_bundle ON history(bundle_id);
	CREATE TABLE outbox (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		bundle_id TEXT NOT NULL REFERENCES bundles(id),
		kind TEXT NOT NULL,
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		next_at INTEGER NOT NULL DEFAULT 0,
		done_at INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT '',
		UNIQUE(bundle_id, kind, state)
	);
	CREATE INDEX outbox_due ON outbox(done_at, next_at);
	CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
	// 2: outbox items are held by the drainer that listed them (OutboxLease).
	`ALTER TABLE outbox ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;`,
}

// SQLite is the embedded Ledger: one file in the data folder, in WAL mode.
// Several processes (the server and admin commands) may open it. Its
// transactions begin IMMEDIATE, taking the database's write lock up front,
// so writers take turns and it needs none of PostgreSQL's row locks.
//
// synchronous=NORMAL: a commit survives the process being killed at any
// point, but a power cut may undo the last commits (never corrupt the
// file). The pipeline is built for that: each step can run again (staging
// is replaced, not duplicated; notifications carry their dedup id), so an
// undone commit costs a repeat, not a loss, and it saves an fsync on each
// of the ten or so commits a bundle makes.
type SQLite struct{ sqlLedger }

var sqliteDialect = dialect{migrate: sqliteMigrate}

// OpenSQLite opens (creating if needed) the ledger at path and applies
// any missing migrations.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	// Immediate transactions take the write lock up front, so two writers
	// wait for each other instead of failing on a lock upgrade.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	l, err := newSQLLedger(ctx, db, sqliteDialect)
	if err != nil {
		return nil, err
	}
	return &SQLite{l}, nil
}

// sqliteMigrate applies the missing migrations, keeping the schema version
// in PRAGMA user_version.
func sqliteMigrate(ctx context.Context, tx *sql.Tx) error {
	var v int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("ledger: schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("ledger: schema version %d is newer than this siirto-gateway knows (%d): upgrade the binary", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("ledger: migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

var _ Ledger = (*SQLite)(nil)
