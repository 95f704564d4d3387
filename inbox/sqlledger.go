package inbox

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// sqlLedger is the Ledger over database/sql, for both engines: SQLite and
// PostgreSQL run the same statements. Parameters are $N (modernc's SQLite
// binds $N to the N-th argument, as PostgreSQL does); ON CONFLICT,
// UPDATE … RETURNING and COUNT(*) FILTER (SQLite ≥ 3.30) are common to
// both. What differs is in dialect, and in the two files that open each
// engine and keep its schema (sqlite.go, postgres.go).
//
// Times are bigint nanoseconds since the epoch (0 for none) in both:
// timestamptz keeps only microseconds, and a Record must read back exactly
// as it was written, whichever the engine.
type sqlLedger struct {
	db *sql.DB
	d  dialect
}

// dialect is what differs between the engines once the database is open:
// the schema's migrations and the row locks.
//
// PostgreSQL runs each transaction at READ COMMITTED, so where order
// matters the statements lock rows explicitly (see Postgres). SQLite needs
// no row locks: its transactions begin IMMEDIATE (_txlock=immediate),
// which takes the database's write lock up front, so writers run one
// after the other.
type dialect struct {
	// forUpdate ends a SELECT of a row the transaction goes on to change,
	// locking it until the transaction ends: " FOR UPDATE", or "".
	forUpdate string
	// skipLocked ends a listing that several workers run at once, so that
	// rows another transaction holds are skipped instead of waited for, and
	// workers listing together get different rows: " FOR UPDATE SKIP
	// LOCKED", or "".
	skipLocked string
	// migrate brings the schema up to date within tx; it refuses a schema
	// newer than this binary knows.
	migrate func(ctx context.Context, tx *sql.Tx) error
}

// newSQLLedger migrates db and returns the ledger on it, closing db on
// failure.
func newSQLLedger(ctx context.Context, db *sql.DB, d dialect) (sqlLedger, error) {
	l := sqlLedger{db: db, d: d}
	if err := l.inTx(ctx, func(tx *sql.Tx) error { return d.migrate(ctx, tx) }); err != nil {
		db.Close()
		return sqlLedger{}, err
	}
	return l, nil
}

// Close closes the database (for PostgreSQL, its connection pool).
func (l *sqlLedger) Close() error { return l.db.Close() }

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

const recordColumns = `id, folder, name, journal, state, outcome, code, detail,
	payload_size, payload_sha256, plaintext_size, plaintext_sha256, files, staging,
	attempts, next_attempt, detected_at, updated_at, delivered_at, purged_at`

type scanner interface{ Scan(...any) error }

func scanRecord(s scanner) (Record, error) {
	var r Record
	var next, det, upd, del, pur int64
	err := s.Scan(&r.ID, &r.Folder, &r.Name, &r.Journal, &r.State, &r.Outcome, &r.Code, &r.Detail,
		&r.PayloadSize, &r.PayloadSHA256, &r.PlaintextSize, &r.PlaintextSHA256, &r.Files, &r.Staging,
		&r.Attempts, &next, &det, &upd, &del, &pur)
	r.NextAttempt, r.DetectedAt, r.UpdatedAt = fromNanos(next), fromNanos(det), fromNanos(upd)
	r.DeliveredAt, r.PurgedAt = fromNanos(del), fromNanos(pur)
	return r, err
}

func (l *sqlLedger) records(ctx context.Context, query string, args ...any) ([]Record, error) {
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
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

// inTx runs f in one transaction, committed if f succeeds.
func (l *sqlLedger) inTx(ctx context.Context, f func(*sql.Tx) error) error {
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

func history(ctx context.Context, tx *sql.Tx, id string, s State, code string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO history(bundle_id, state, code, at) VALUES ($1, $2, $3, $4)`,
		id, string(s), code, nanos(at)); err != nil {
		return fmt.Errorf("ledger: history: %w", err)
	}
	return nil
}

// Detect implements Ledger.
func (l *sqlLedger) Detect(ctx context.Context, r Record) (bool, error) {
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
			return history(ctx, tx, r.ID, StateDetected, "", r.DetectedAt)
		}
		return nil
	})
	return added, err
}

// Get implements Ledger.
func (l *sqlLedger) Get(ctx context.Context, id string) (Record, error) {
	r, err := scanRecord(l.db.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM bundles WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("ledger: %w", err)
	}
	return r, nil
}

// Due implements Ledger. With PostgreSQL, FOR UPDATE SKIP LOCKED makes
// workers listing at the same moment get different bundles, and keeps a
// listing from waiting behind a worker that is claiming or advancing a
// row; the row locks end with the statement (its own transaction), and
// Claim decides who works on a bundle.
func (l *sqlLedger) Due(ctx context.Context, now time.Time, limit int) ([]Record, error) {
	return l.records(ctx, `SELECT `+recordColumns+` FROM bundles
		WHERE state IN ($1, $2) AND next_attempt <= $3 AND lease_until <= $3
		ORDER BY detected_at LIMIT $4`+l.d.skipLocked,
		string(StateDetected), string(StateVerified), nanos(now), limit)
}

// Claim implements Ledger. The condition is in the UPDATE itself: of two
// workers claiming at once, the second waits for the first's row lock (in
// SQLite, for its write lock) and then re-checks the condition against
// the claim just written, and fails.
func (l *sqlLedger) Claim(ctx context.Context, id, worker string, now time.Time, lease time.Duration) (bool, error) {
	res, err := l.db.ExecContext(ctx, `UPDATE bundles SET claimed_by = $1, lease_until = $2
		WHERE id = $3 AND (lease_until <= $4 OR claimed_by = $1)`, worker, nanos(now.Add(lease)), id, nanos(now))
	if err != nil {
		return false, fmt.Errorf("ledger: claim: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Release implements Ledger.
func (l *sqlLedger) Release(ctx context.Context, id, worker string) error {
	if _, err := l.db.ExecContext(ctx, `UPDATE bundles SET claimed_by = '', lease_until = 0 WHERE id = $1 AND claimed_by = $2`, id, worker); err != nil {
		return fmt.Errorf("ledger: release: %w", err)
	}
	return nil
}

// ReleaseAll implements Ledger. With several workers on the database it
// would take their claims away: only a sole worker may call it.
func (l *sqlLedger) ReleaseAll(ctx context.Context) error {
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
func (l *sqlLedger) Advance(ctx context.Context, from State, r Record, outbox []string) error {
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
		if err := history(ctx, tx, r.ID, r.State, r.Code, r.UpdatedAt); err != nil {
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
func (l *sqlLedger) Retry(ctx context.Context, id, code, detail string, next time.Time) error {
	if _, err := l.db.ExecContext(ctx, `UPDATE bundles SET attempts = attempts + 1, code = $1, detail = $2, next_attempt = $3
		WHERE id = $4 AND state IN ($5, $6)`, code, detail, nanos(next), id, string(StateDetected), string(StateVerified)); err != nil {
		return fmt.Errorf("ledger: retry: %w", err)
	}
	return nil
}

// OutboxDue implements Ledger. Listing and holding are one statement, so
// two drainers (several workers, or an admin command beside the server)
// never get the same item. With PostgreSQL, the UPDATE holds the rows its
// inner SELECT … FOR UPDATE SKIP LOCKED picked, so a concurrent drainer
// skips them while this statement runs and finds them held once it has
// committed.
func (l *sqlLedger) OutboxDue(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	var out []OutboxItem
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET lease_until = $1 WHERE id IN (
				SELECT id FROM outbox WHERE done_at = 0 AND next_at <= $2 AND lease_until <= $2
				ORDER BY id LIMIT $3`+l.d.skipLocked+`)
			RETURNING id, bundle_id, kind, state, attempts, next_at, last_error`,
			nanos(now.Add(OutboxLease)), nanos(now), limit)
		if err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var it OutboxItem
			var next int64
			if err := rows.Scan(&it.ID, &it.BundleID, &it.Kind, &it.State, &it.Attempts, &next, &it.LastErr); err != nil {
				return fmt.Errorf("ledger: %w", err)
			}
			it.NextAt = fromNanos(next)
			out = append(out, it)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortOutbox(out) // RETURNING promises no order
	return out, nil
}

// sortOutbox puts items oldest first, as OutboxDue promises.
func sortOutbox(items []OutboxItem) {
	slices.SortFunc(items, func(a, b OutboxItem) int { return cmp.Compare(a.ID, b.ID) })
}

// OutboxDone implements Ledger. The bundle's row is read (with PostgreSQL,
// locked) before anything else: two drainers finishing the bundle's last
// items at once take turns, and the second counts the first's item as
// done (READ COMMITTED reads what committed before each statement), so
// the bundle does not stay short of notified. SQLite's write lock makes
// them take turns anyway.
func (l *sqlLedger) OutboxDone(ctx context.Context, item OutboxItem, now time.Time) ([]State, error) {
	var passed []State
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		var state State
		if err := tx.QueryRowContext(ctx, `SELECT state FROM bundles WHERE id = $1`+l.d.forUpdate, item.BundleID).Scan(&state); err != nil {
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
			if err := history(ctx, tx, item.BundleID, to, "", now); err != nil {
				return err
			}
		}
		return nil
	})
	return passed, err
}

// OutboxRetry implements Ledger.
func (l *sqlLedger) OutboxRetry(ctx context.Context, item OutboxItem, detail string, next time.Time) error {
	if _, err := l.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_at = $2, lease_until = 0
		WHERE id = $3`, detail, nanos(next), item.ID); err != nil {
		return fmt.Errorf("ledger: outbox: %w", err)
	}
	return nil
}

// List implements Ledger.
func (l *sqlLedger) List(ctx context.Context, folder string) ([]Record, error) {
	if folder == "" {
		return l.records(ctx, `SELECT `+recordColumns+` FROM bundles ORDER BY detected_at DESC`)
	}
	return l.records(ctx, `SELECT `+recordColumns+` FROM bundles WHERE folder = $1 ORDER BY detected_at DESC`, folder)
}

// Counts implements Ledger.
func (l *sqlLedger) Counts(ctx context.Context) (map[State]int, error) {
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
// written can be delivered; a repeat is ErrConflict. The row is locked
// while it is checked, so two deliveries at once cannot both pass.
func (l *sqlLedger) Delivered(ctx context.Context, id string, now time.Time) (Record, error) {
	var r Record
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanRecord(tx.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM bundles WHERE id = $1`+l.d.forUpdate, id))
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
		return history(ctx, tx, id, StateDelivered, "", now)
	})
	return r, err
}

// Expired implements Ledger.
func (l *sqlLedger) Expired(ctx context.Context, deliveredBefore, rejectedBefore time.Time) ([]Record, error) {
	return l.records(ctx, `SELECT `+recordColumns+` FROM bundles WHERE purged_at = 0 AND (
		(state = $1 AND delivered_at > 0 AND delivered_at <= $2) OR
		(outcome = $3 AND state IN ($4, $5, $6) AND updated_at <= $7))`,
		string(StateDelivered), nanos(deliveredBefore), OutcomeRejected,
		string(StateRejected), string(StateNotified), string(StateReceipted), nanos(rejectedBefore))
}

// Purged implements Ledger.
func (l *sqlLedger) Purged(ctx context.Context, id string, now time.Time) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE bundles SET state = $1, purged_at = $2, updated_at = $2 WHERE id = $3`,
			string(StatePurged), nanos(now), id); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		return history(ctx, tx, id, StatePurged, "", now)
	})
}

// Meta implements Ledger.
func (l *sqlLedger) Meta(ctx context.Context, key string) (string, error) {
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
func (l *sqlLedger) SetMeta(ctx context.Context, key, value string) error {
	if _, err := l.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// SetMetaMax implements Ledger. ON CONFLICT DO UPDATE locks the row (in
// SQLite, the statement holds the write lock) and compares against its
// latest value, so racing writers leave the greatest; the PostgreSQL
// column's "C" collation compares bytes, as SQLite does.
func (l *sqlLedger) SetMetaMax(ctx context.Context, key, value string) error {
	if _, err := l.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE excluded.value > meta.value`, key, value); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}
