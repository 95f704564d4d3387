package inbox

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/siirto/siirto/internal/pgdb"
)

// pgMigrations are the PostgreSQL schema, version i+1 at index i. They
// keep step with the SQLite migrations (the same tables, columns and
// meaning, version for version) so the two ledgers behave alike; only the
// types are PostgreSQL's. Times are bigint nanoseconds since the epoch (0
// for none), as in SQLite: timestamptz keeps only microseconds, and a
// Record must read back exactly as it was written, whichever ledger.
var pgMigrations = []string{
	`CREATE TABLE bundles (
		id text PRIMARY KEY,
		folder text NOT NULL,
		name text NOT NULL,
		journal text NOT NULL DEFAULT '',
		state text NOT NULL,
		outcome text NOT NULL DEFAULT '',
		code text NOT NULL DEFAULT '',
		detail text NOT NULL DEFAULT '',
		payload_size bigint NOT NULL DEFAULT 0,
		payload_sha256 text NOT NULL DEFAULT '',
		plaintext_size bigint NOT NULL DEFAULT 0,
		plaintext_sha256 text NOT NULL DEFAULT '',
		files integer NOT NULL DEFAULT 0,
		staging text NOT NULL DEFAULT '',
		attempts integer NOT NULL DEFAULT 0,
		next_attempt bigint NOT NULL DEFAULT 0,
		claimed_by text NOT NULL DEFAULT '',
		lease_until bigint NOT NULL DEFAULT 0,
		detected_at bigint NOT NULL,
		updated_at bigint NOT NULL,
		delivered_at bigint NOT NULL DEFAULT 0,
		purged_at bigint NOT NULL DEFAULT 0
	);
	CREATE INDEX bundles_state ON bundles(state, next_attempt);
	CREATE INDEX bundles_folder ON bundles(folder, detected_at);
	CREATE TABLE history (
		bundle_id text NOT NULL REFERENCES bundles(id),
		state text NOT NULL,
		code text NOT NULL DEFAULT '',
		at bigint NOT NULL
	);
	CREATE INDEX history_bundle ON history(bundle_id);
	CREATE TABLE outbox (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		bundle_id text NOT NULL REFERENCES bundles(id),
		kind text NOT NULL,
		state text NOT NULL,
		attempts integer NOT NULL DEFAULT 0,
		next_at bigint NOT NULL DEFAULT 0,
		done_at bigint NOT NULL DEFAULT 0,
		last_error text NOT NULL DEFAULT '',
		UNIQUE(bundle_id, kind, state)
	);
	CREATE INDEX outbox_due ON outbox(done_at, next_at);
	-- "C": SetMetaMax compares bytes, as SQLite does, whatever the
	-- database's locale.
	CREATE TABLE meta (key text PRIMARY KEY, value text COLLATE "C" NOT NULL);`,
	// 2: outbox items are held by the drainer that listed them (OutboxLease).
	`ALTER TABLE outbox ADD COLUMN lease_until bigint NOT NULL DEFAULT 0;`,
}

// pgMigrateLock is the pg_advisory_xact_lock key that serialises
// migrations: workers starting at once take turns, and the later ones find
// the schema already current. The value is arbitrary but fixed ("siirto"
// in ASCII), so that every siirto-gateway version agrees on it.
const pgMigrateLock int64 = 0x73_69_69_72_74_6f

// Postgres is the Ledger for several workers: siirto-gateway processes on
// different machines sharing one PostgreSQL database. It has the same
// tables as SQLite and runs the same statements (sqlLedger), so it has the
// same behaviour (ledger_test.go runs one table of behaviours against
// both); what differs is how concurrent workers are kept apart, by the row
// locks in postgresDialect:
//
//   - Claim is one UPDATE that succeeds only while nobody else holds a live
//     lease. PostgreSQL re-checks the WHERE clause on the latest row
//     version after waiting for a concurrent writer, so of two workers
//     claiming at once exactly one wins. A dead worker's lease simply runs
//     out, and the next worker's Claim takes the bundle over.
//   - Due lists with SELECT … FOR UPDATE SKIP LOCKED: rows that another
//     worker is claiming or advancing at that moment, or that another
//     worker's Due is listing at the same moment, are skipped instead of
//     waited for, so workers listing together get different bundles. Due
//     still only suggests: Claim decides, and a worker that lost a race
//     gets false from it and moves on.
//   - OutboxDue lists and holds its items (OutboxLease) in one UPDATE over a
//     SELECT … FOR UPDATE SKIP LOCKED, so each due item goes to one drainer;
//     a dead drainer's items are due again when the hold runs out.
//   - OutboxDone locks the bundle's row first, so two drainers finishing a
//     bundle's last two items at once cannot both miss that the bundle is
//     notified: the second waits for the first and sees its item done.
//
// Every method is one transaction (READ COMMITTED, with explicit row
// locks where order matters). Migrations are versioned in the table
// schema_migrations and applied by OpenPostgres inside one transaction
// under an advisory lock.
//
// The gateway uses it when ledger_url is set: a PostgreSQL DSN (a URL or
// key=value connection string, with the password better in a file or
// PGPASSFILE) in place of the embedded ledger.db, passed to OpenPostgres.
// ReleaseAll suits only a gateway that is the sole worker on the database;
// with several, leases do the work.
type Postgres struct{ sqlLedger }

var postgresDialect = dialect{forUpdate: " FOR UPDATE", skipLocked: " FOR UPDATE SKIP LOCKED", migrate: pgMigrate}

// OpenPostgres connects to the database at dsn and brings its schema up to
// date. Several workers may open the same database at once; one of them
// migrates and the others wait for it. A database whose schema is newer
// than this binary is refused, so an old worker never writes into a schema
// it does not understand. The pool reconnects by itself after the server
// restarts: a call during the restart fails, the next one succeeds.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	db, err := pgdb.Open(dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger: postgres: %w", err)
	}
	l, err := newSQLLedger(ctx, db, postgresDialect)
	if err != nil {
		return nil, err
	}
	return &Postgres{l}, nil
}

// pgMigrate applies the missing migrations, recording each version in
// schema_migrations.
func pgMigrate(ctx context.Context, tx *sql.Tx) error {
	// Held until the transaction ends: a second worker waits here and
	// then finds every version applied.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, pgMigrateLock); err != nil {
		return fmt.Errorf("ledger: postgres: migration lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("ledger: postgres: %w", err)
	}
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("ledger: postgres: schema version: %w", err)
	}
	if v > len(pgMigrations) {
		return fmt.Errorf("ledger: postgres: schema version %d is newer than this siirto-gateway knows (%d): upgrade the binary", v, len(pgMigrations))
	}
	for i := v; i < len(pgMigrations); i++ {
		if _, err := tx.ExecContext(ctx, pgMigrations[i]); err != nil {
			return fmt.Errorf("ledger: postgres: migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version) VALUES ($1)`, i+1); err != nil {
			return fmt.Errorf("ledger: postgres: migration %d: %w", i+1, err)
		}
	}
	return nil
}

var _ Ledger = (*Postgres)(nil)
