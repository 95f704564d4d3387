package inbox

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

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
// Several processes (the server and admin commands) may open it.
//
// synchronous=NORMAL: a commit survives the process being killed at any
// point, but a power cut may undo the last commits (never corrupt the
// file). The pipeline is built for that: each step can run again (staging
// is replaced, not duplicated; notifications carry their dedup id), so an
// undone commit costs a repeat, not a loss, and it saves an fsync on each
// of the ten or so commits a bundle makes.
type SQLite struct {
	db *sql.DB
}

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
	l := &SQLite{db: db}
	if err := l.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return l, nil
}

func (l *SQLite) migrate(ctx context.Context) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	defer tx.Rollback()
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
	return tx.Commit()
}

// Close closes the database.
func (l *SQLite) Close() error { return l.db.Close() }

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

func (l *SQLite) records(ctx context.Context, query string, args ...any) ([]Record, error) {
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
	return out, rows.Err()
}

// inTx runs f in one immediate transaction.
func (l *SQLite) inTx(ctx context.Context, f func(*sql.Tx) error) error {
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
	_, err := tx.ExecContext(ctx, `INSERT INTO history(bundle_id, state, code, at) VALUES (?, ?, ?, ?)`, id, s, code, nanos(at))
	return err
}

// Detect implements Ledger.
func (l *SQLite) Detect(ctx context.Context, r Record) (bool, error) {
	var added bool
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO bundles(id, folder, name, state, payload_size, detected_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
			r.ID, r.Folder, r.Name, StateDetected, r.PayloadSize, nanos(r.DetectedAt), nanos(r.DetectedAt))
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
func (l *SQLite) Get(ctx context.Context, id string) (Record, error) {
	r, err := scanRecord(l.db.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM bundles WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("ledger: %w", err)
	}
	return r, nil
}

// Due implements Ledger.
func (l *SQLite) Due(ctx context.Context, now time.Time, limit int) ([]Record, error) {
	return l.records(ctx, `SELECT `+recordColumns+` FROM bundles
		WHERE state IN (?, ?) AND next_attempt <= ? AND lease_until <= ?
		ORDER BY detected_at LIMIT ?`, StateDetected, StateVerified, nanos(now), nanos(now), limit)
}

// Claim implements Ledger.
func (l *SQLite) Claim(ctx context.Context, id, worker string, now time.Time, lease time.Duration) (bool, error) {
	res, err := l.db.ExecContext(ctx, `UPDATE bundles SET claimed_by = ?, lease_until = ?
		WHERE id = ? AND (lease_until <= ? OR claimed_by = ?)`, worker, nanos(now.Add(lease)), id, nanos(now), worker)
	if err != nil {
		return false, fmt.Errorf("ledger: claim: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Release implements Ledger.
func (l *SQLite) Release(ctx context.Context, id, worker string) error {
	_, err := l.db.ExecContext(ctx, `UPDATE bundles SET claimed_by = '', lease_until = 0 WHERE id = ? AND claimed_by = ?`, id, worker)
	if err != nil {
		return fmt.Errorf("ledger: release: %w", err)
	}
	return nil
}

// ReleaseAll implements Ledger.
func (l *SQLite) ReleaseAll(ctx context.Context) error {
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
func (l *SQLite) Advance(ctx context.Context, from State, r Record, outbox []string) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE bundles SET state = ?, journal = ?, outcome = ?, code = ?, detail = ?,
			payload_size = ?, payload_sha256 = ?, plaintext_size = ?, plaintext_sha256 = ?, files = ?, staging = ?,
			updated_at = ?, next_attempt = 0
			WHERE id = ? AND state = ?`,
			r.State, r.Journal, r.Outcome, r.Code, r.Detail,
			r.PayloadSize, r.PayloadSHA256, r.PlaintextSize, r.PlaintextSHA256, r.Files, r.Staging,
			nanos(r.UpdatedAt), r.ID, from)
		if err != nil {
			return fmt.Errorf("ledger: advance: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrConflict
		}
		if err := history(ctx, tx, r.ID, r.State, r.Code, r.UpdatedAt); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		for _, kind := range outbox {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox(bundle_id, kind, state, next_at) VALUES (?, ?, ?, 0)
				ON CONFLICT DO NOTHING`, r.ID, kind, r.State); err != nil {
				return fmt.Errorf("ledger: outbox: %w", err)
			}
		}
		return nil
	})
}

// Retry implements Ledger.
func (l *SQLite) Retry(ctx context.Context, id, code, detail string, next time.Time) error {
	_, err := l.db.ExecContext(ctx, `UPDATE bundles SET attempts = attempts + 1, code = ?, detail = ?, next_attempt = ?
		WHERE id = ? AND state IN (?, ?)`, code, detail, nanos(next), id, StateDetected, StateVerified)
	if err != nil {
		return fmt.Errorf("ledger: retry: %w", err)
	}
	return nil
}

// OutboxDue implements Ledger. Listing and holding are one statement, so
// two drainers (an admin command beside the server, say) never get the
// same item.
func (l *SQLite) OutboxDue(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	var out []OutboxItem
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET lease_until = ? WHERE id IN (
			SELECT id FROM outbox WHERE done_at = 0 AND next_at <= ? AND lease_until <= ? ORDER BY id LIMIT ?)
			RETURNING id, bundle_id, kind, state, attempts, next_at, last_error`,
			nanos(now.Add(OutboxLease)), nanos(now), nanos(now), limit)
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

// OutboxDone implements Ledger.
func (l *SQLite) OutboxDone(ctx context.Context, item OutboxItem, now time.Time) ([]State, error) {
	var passed []State
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET done_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`, nanos(now), item.ID); err != nil {
			return fmt.Errorf("ledger: outbox: %w", err)
		}
		var state State
		if err := tx.QueryRowContext(ctx, `SELECT state FROM bundles WHERE id = ?`, item.BundleID).Scan(&state); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		var notes, all int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(kind != ?), 0), COUNT(*) FROM outbox WHERE bundle_id = ? AND done_at = 0`,
			KindReceipt, item.BundleID).Scan(&notes, &all); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		for _, to := range outboxSteps(state, notes, all) {
			if _, err := tx.ExecContext(ctx, `UPDATE bundles SET state = ?, updated_at = ? WHERE id = ?`, to, nanos(now), item.BundleID); err != nil {
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
func (l *SQLite) OutboxRetry(ctx context.Context, item OutboxItem, detail string, next time.Time) error {
	_, err := l.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_at = ?, lease_until = 0 WHERE id = ?`,
		detail, nanos(next), item.ID)
	if err != nil {
		return fmt.Errorf("ledger: outbox: %w", err)
	}
	return nil
}

// List implements Ledger.
func (l *SQLite) List(ctx context.Context, folder string) ([]Record, error) {
	if folder == "" {
		return l.records(ctx, `SELECT `+recordColumns+` FROM bundles ORDER BY detected_at DESC`)
	}
	return l.records(ctx, `SELECT `+recordColumns+` FROM bundles WHERE folder = ? ORDER BY detected_at DESC`, folder)
}

// Counts implements Ledger.
func (l *SQLite) Counts(ctx context.Context) (map[State]int, error) {
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
	return out, rows.Err()
}

// Delivered implements Ledger. Only accepted bundles whose receipt is
// written can be delivered; a repeat is ErrConflict.
func (l *SQLite) Delivered(ctx context.Context, id string, now time.Time) (Record, error) {
	var r Record
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanRecord(tx.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM bundles WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		if err := deliverable(r); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bundles SET state = ?, delivered_at = ?, updated_at = ? WHERE id = ?`,
			StateDelivered, nanos(now), nanos(now), id); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		r.State, r.DeliveredAt = StateDelivered, now
		return history(ctx, tx, id, StateDelivered, "", now)
	})
	return r, err
}

// Expired implements Ledger.
func (l *SQLite) Expired(ctx context.Context, deliveredBefore, rejectedBefore time.Time) ([]Record, error) {
	return l.records(ctx, `SELECT `+recordColumns+` FROM bundles WHERE purged_at = 0 AND (
		(state = ? AND delivered_at > 0 AND delivered_at <= ?) OR
		(outcome = ? AND state IN (?, ?, ?) AND updated_at <= ?))`,
		StateDelivered, nanos(deliveredBefore), OutcomeRejected, StateRejected, StateNotified, StateReceipted, nanos(rejectedBefore))
}

// Purged implements Ledger.
func (l *SQLite) Purged(ctx context.Context, id string, now time.Time) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE bundles SET state = ?, purged_at = ?, updated_at = ? WHERE id = ?`,
			StatePurged, nanos(now), nanos(now), id); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		return history(ctx, tx, id, StatePurged, "", now)
	})
}

// Meta implements Ledger.
func (l *SQLite) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := l.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("ledger: %w", err)
	}
	return v, nil
}

// SetMeta implements Ledger.
func (l *SQLite) SetMeta(ctx context.Context, key, value string) error {
	_, err := l.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// SetMetaMax implements Ledger.
func (l *SQLite) SetMetaMax(ctx context.Context, key, value string) error {
	_, err := l.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE excluded.value > meta.value`, key, value)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

var _ Ledger = (*SQLite)(nil)
