package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
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
// tables and the same behaviour as SQLite (ledger_test.go runs one table
// of behaviours against both); what differs is how concurrent workers are
// kept apart:
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
type Postgres struct {
	db *sql.DB
}

// OpenPostgres connects to the database at dsn and brings its schema up to
// date. Several workers may open the same database at once; one of them
// migrates and the others wait for it. A database whose schema is newer
// than this binary is refused, so an old worker never writes into a schema
// it does not understand. The pool reconnects by itself after the server
// restarts: a call during the restart fails, the next one succeeds.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger: postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	// As the accounts' pool (and pgxpool's defaults): bounded, so that many
	// workers stay under the server's max_connections; kept open between
	// calls (database/sql keeps only 2 idle by default); recycled now and
	// then.
	n := max(4, runtime.NumCPU())
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(time.Hour)
	db.SetConnMaxIdleTime(30 * time.Minute)
	l := &Postgres{db: db}
	if err := l.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return l, nil
}

func (l *Postgres) migrate(ctx context.Context) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
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
	})
}

// Close closes the connection pool.
func (l *Postgres) Close() error { return l.db.Close() }

// inTx runs f in one transaction, committed if f succeeds.
func (l *Postgres) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger: commit: %w", err)
	}
	return nil
}

func pgRecords(rows *sql.Rows) ([]Record, error) {
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return out, nil
}

func (l *Postgres) records(ctx context.Context, query string, args ...any) ([]Record, error) {
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return pgRecords(rows)
}

func pgHistory(ctx context.Context, tx *sql.Tx, id string, s State, code string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO history(bundle_id, state, code, at) VALUES ($1, $2, $3, $4)`,
		id, string(s), code, nanos(at)); err != nil {
		return fmt.Errorf("ledger: history: %w", err)
	}
	return nil
}

// Detect implements Ledger.
func (l *Postgres) Detect(ctx context.Context, r Record) (bool, error) {
	var added bool
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO bundles(id, folder, name, state, payload_size, detected_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
			r.ID, r.Folder, r.Name, string(StateDetected), r.PayloadSize, nanos(r.DetectedAt), nanos(r.DetectedAt))
		if err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		n, _ := res.RowsAffected()
		if added = n == 1; added {
			return pgHistory(ctx, tx, r.ID, StateDetected, "", r.DetectedAt)
		}
		return nil
	})
	return added, err
}

// Get implements Ledger.
func (l *Postgres) Get(ctx context.Context, id string) (Record, error) {
	r, err := scanRecord(l.db.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM bundles WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("ledger: %w", err)
	}
	return r, nil
}

// Due implements Ledger. FOR UPDATE SKIP LOCKED makes workers listing at
// the same moment get different bundles, and keeps a listing from waiting
// behind a worker that is claiming or advancing a row; the row locks end
// with the listing's transaction, and Claim decides who works on a bundle.
func (l *Postgres) Due(ctx context.Context, now time.Time, limit int) ([]Record, error) {
	var out []Record
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+recordColumns+` FROM bundles
			WHERE state IN ($1, $2) AND next_attempt <= $3 AND lease_until <= $3
			ORDER BY detected_at LIMIT $4 FOR UPDATE SKIP LOCKED`,
			string(StateDetected), string(StateVerified), nanos(now), limit)
		if err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		out, err = pgRecords(rows)
		return err
	})
	return out, err
}

// Claim implements Ledger. The condition is in the UPDATE itself: of two
// workers claiming at once, the second waits for the first's row lock and
// then re-checks the condition against the claim just written, and fails.
func (l *Postgres) Claim(ctx context.Context, id, worker string, now time.Time, lease time.Duration) (bool, error) {
	res, err := l.db.ExecContext(ctx, `UPDATE bundles SET claimed_by = $1, lease_until = $2
		WHERE id = $3 AND (lease_until <= $4 OR claimed_by = $1)`, worker, nanos(now.Add(lease)), id, nanos(now))
	if err != nil {
		return false, fmt.Errorf("ledger: claim: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Release implements Ledger.
func (l *Postgres) Release(ctx context.Context, id, worker string) error {
	if _, err := l.db.ExecContext(ctx, `UPDATE bundles SET claimed_by = '', lease_until = 0 WHERE id = $1 AND claimed_by = $2`, id, worker); err != nil {
		return fmt.Errorf("ledger: release: %w", err)
	}
	return nil
}

// ReleaseAll implements Ledger. With several workers on the database it
// would take their claims away: only a sole worker may call it.
func (l *Postgres) ReleaseAll(ctx context.Context) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE bundles SET claimed_by = '', lease_until = 0 WHERE lease_until > 0`); err != nil {
			return fmt.Errorf("ledger: release: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET lease_until = 0 WHERE lease_until > 0`); err != nil {
			return fmt.Errorf("ledger: release: %w", err)
		}
		return nil
	})
}

// Advance implements Ledger.
func (l *Postgres) Advance(ctx context.Context, from State, r Record, outbox []string) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE bundles SET state = $1, journal = $2, outcome = $3, code = $4, detail = $5,
			payload_size = $6, payload_sha256 = $7, plaintext_size = $8, plaintext_sha256 = $9, files = $10, staging = $11,
			updated_at = $12, next_attempt = 0
			WHERE id = $13 AND state = $14`,
			string(r.State), r.Journal, r.Outcome, r.Code, r.Detail,
			r.PayloadSize, r.PayloadSHA256, r.PlaintextSize, r.PlaintextSHA256, r.Files, r.Staging,
			nanos(r.UpdatedAt), r.ID, string(from))
		if err != nil {
			return fmt.Errorf("ledger: advance: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrConflict
		}
		if err := pgHistory(ctx, tx, r.ID, r.State, r.Code, r.UpdatedAt); err != nil {
			return err
		}
		for _, kind := range outbox {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox(bundle_id, kind, state, next_at) VALUES ($1, $2, $3, 0)
				ON CONFLICT DO NOTHING`, r.ID, kind, string(r.State)); err != nil {
				return fmt.Errorf("ledger: outbox: %w", err)
			}
		}
		return nil
	})
}

// Retry implements Ledger.
func (l *Postgres) Retry(ctx context.Context, id, code, detail string, next time.Time) error {
	if _, err := l.db.ExecContext(ctx, `UPDATE bundles SET attempts = attempts + 1, code = $1, detail = $2, next_attempt = $3
		WHERE id = $4 AND state IN ($5, $6)`, code, detail, nanos(next), id, string(StateDetected), string(StateVerified)); err != nil {
		return fmt.Errorf("ledger: retry: %w", err)
	}
	return nil
}

// OutboxDue implements Ledger: one UPDATE holds the rows its inner SELECT …
// FOR UPDATE SKIP LOCKED picked, so a concurrent drainer skips them while
// this statement runs and finds them held once it has committed.
func (l *Postgres) OutboxDue(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	rows, err := l.db.QueryContext(ctx, `UPDATE outbox SET lease_until = $1 WHERE id IN (
			SELECT id FROM outbox WHERE done_at = 0 AND next_at <= $2 AND lease_until <= $2
			ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING id, bundle_id, kind, state, attempts, next_at, last_error`,
		nanos(now.Add(OutboxLease)), nanos(now), limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		var it OutboxItem
		var next int64
		if err := rows.Scan(&it.ID, &it.BundleID, &it.Kind, &it.State, &it.Attempts, &next, &it.LastErr); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		it.NextAt = fromNanos(next)
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	sortOutbox(out) // RETURNING promises no order
	return out, nil
}

// OutboxDone implements Ledger, with the same steps as SQLite's. The
// bundle's row is locked before anything else: two drainers finishing the
// bundle's last items at once take turns, and the second counts the
// first's item as done (READ COMMITTED reads what committed before each
// statement), so the bundle does not stay short of notified.
func (l *Postgres) OutboxDone(ctx context.Context, item OutboxItem, now time.Time) ([]State, error) {
	var passed []State
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		var state State
		if err := tx.QueryRowContext(ctx, `SELECT state FROM bundles WHERE id = $1 FOR UPDATE`, item.BundleID).Scan(&state); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET done_at = $1, attempts = attempts + 1, last_error = '' WHERE id = $2`,
			nanos(now), item.ID); err != nil {
			return fmt.Errorf("ledger: outbox: %w", err)
		}
		var notes, all int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE kind <> $1), COUNT(*) FROM outbox
			WHERE bundle_id = $2 AND done_at = 0`, KindReceipt, item.BundleID).Scan(&notes, &all); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		for _, to := range outboxSteps(state, notes, all) {
			if _, err := tx.ExecContext(ctx, `UPDATE bundles SET state = $1, updated_at = $2 WHERE id = $3`,
				string(to), nanos(now), item.BundleID); err != nil {
				return fmt.Errorf("ledger: %w", err)
			}
			passed = append(passed, to)
			if err := pgHistory(ctx, tx, item.BundleID, to, "", now); err != nil {
				return err
			}
		}
		return nil
	})
	return passed, err
}

// OutboxRetry implements Ledger.
func (l *Postgres) OutboxRetry(ctx context.Context, item OutboxItem, detail string, next time.Time) error {
	if _, err := l.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_at = $2, lease_until = 0
		WHERE id = $3`, detail, nanos(next), item.ID); err != nil {
		return fmt.Errorf("ledger: outbox: %w", err)
	}
	return nil
}

// List implements Ledger.
func (l *Postgres) List(ctx context.Context, folder string) ([]Record, error) {
	if folder == "" {
		return l.records(ctx, `SELECT `+recordColumns+` FROM bundles ORDER BY detected_at DESC`)
	}
	return l.records(ctx, `SELECT `+recordColumns+` FROM bundles WHERE folder = $1 ORDER BY detected_at DESC`, folder)
}

// Counts implements Ledger.
func (l *Postgres) Counts(ctx context.Context) (map[State]int, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM bundles GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer rows.Close()
	out := map[State]int{}
	for rows.Next() {
		var s State
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		out[s] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return out, nil
}

// Delivered implements Ledger. Only accepted bundles whose receipt is
// written can be delivered; a repeat is ErrConflict.
func (l *Postgres) Delivered(ctx context.Context, id string, now time.Time) (Record, error) {
	var r Record
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanRecord(tx.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM bundles WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		if err := deliverable(r); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bundles SET state = $1, delivered_at = $2, updated_at = $2 WHERE id = $3`,
			string(StateDelivered), nanos(now), id); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		r.State, r.DeliveredAt = StateDelivered, now
		return pgHistory(ctx, tx, id, StateDelivered, "", now)
	})
	return r, err
}

// Expired implements Ledger.
func (l *Postgres) Expired(ctx context.Context, deliveredBefore, rejectedBefore time.Time) ([]Record, error) {
	return l.records(ctx, `SELECT `+recordColumns+` FROM bundles WHERE purged_at = 0 AND (
		(state = $1 AND delivered_at > 0 AND delivered_at <= $2) OR
		(outcome = $3 AND state IN ($4, $5, $6) AND updated_at <= $7))`,
		string(StateDelivered), nanos(deliveredBefore), OutcomeRejected,
		string(StateRejected), string(StateNotified), string(StateReceipted), nanos(rejectedBefore))
}

// Purged implements Ledger.
func (l *Postgres) Purged(ctx context.Context, id string, now time.Time) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE bundles SET state = $1, purged_at = $2, updated_at = $2 WHERE id = $3`,
			string(StatePurged), nanos(now), id); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		return pgHistory(ctx, tx, id, StatePurged, "", now)
	})
}

// Meta implements Ledger.
func (l *Postgres) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := l.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("ledger: %w", err)
	}
	return v, nil
}

// SetMeta implements Ledger.
func (l *Postgres) SetMeta(ctx context.Context, key, value string) error {
	if _, err := l.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, key, value); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// SetMetaMax implements Ledger. ON CONFLICT DO UPDATE locks the row and
// compares against its latest value, so racing writers leave the greatest;
// the column's "C" collation compares bytes, as SQLite does.
func (l *Postgres) SetMetaMax(ctx context.Context, key, value string) error {
	if _, err := l.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value WHERE EXCLUDED.value > meta.value`, key, value); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

var _ Ledger = (*Postgres)(nil)
