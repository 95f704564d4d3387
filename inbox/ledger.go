package inbox

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// State is where a bundle is in the pipeline. A bundle only moves forward:
//
//	detected → verified → staged → notified → receipted → delivered → purged
//	detected → rejected → notified → receipted → purged
//
// "notified" means every notification channel has delivered, "receipted"
// that the signed receipt is in the journal folder as well.
type State string

// The states, in order.
const (
	StateDetected  State = "detected"
	StateVerified  State = "verified"
	StateStaged    State = "staged"
	StateRejected  State = "rejected"
	StateNotified  State = "notified"
	StateReceipted State = "receipted"
	StateDelivered State = "delivered"
	StatePurged    State = "purged"
)

// States lists every state, for metrics that report zeros too.
var States = []State{StateDetected, StateVerified, StateStaged, StateRejected, StateNotified, StateReceipted, StateDelivered, StatePurged}

// Outcome values of a Record.
const (
	OutcomeAccepted = "accepted"
	OutcomeRejected = "rejected"
)

// Record is a bundle as the ledger knows it. It holds no personal data:
// names of bundles and folders, sizes, checksums and codes.
type Record struct {
	ID      string // hex SHA-256 of the manifest as received
	Folder  string // journal folder
	Name    string // bundle name: NAME.c4gh, NAME.json
	Journal string // journal number, once verified
	State   State
	Outcome string // "", OutcomeAccepted or OutcomeRejected
	Code    string // error code of a rejection, or of the last failed attempt
	Detail  string // technical detail for staff; never secrets

	PayloadSize     int64
	PayloadSHA256   string
	PlaintextSize   int64
	PlaintextSHA256 string
	Files           int
	Staging         string // absolute path of the staged folder

	Attempts    int       // failed attempts so far (retried with backoff)
	NextAttempt time.Time // when the pipeline may try again

	DetectedAt  time.Time
	UpdatedAt   time.Time
	DeliveredAt time.Time
	PurgedAt    time.Time
}

// OutboxItem is a side effect still to perform for a bundle: one
// notification channel ("email", "webhook", …) or the receipt. It was
// written in the same transaction as the state change that caused it, so
// a crash can delay it but never lose it; delivery is at least once, and
// receivers deduplicate by bundle id and state.
type OutboxItem struct {
	ID       int64
	BundleID string
	Kind     string // KindReceipt or a notification channel name
	State    State  // the state that caused it
	Attempts int
	NextAt   time.Time
	LastErr  string
}

// KindReceipt is the outbox kind that writes the signed receipt.
const KindReceipt = "receipt"

// OutboxLease is how long OutboxDue reserves the items it returns for the
// caller. Several workers drain one outbox: without the reservation two of
// them could list and deliver the same item at once. A worker that dies
// holding items only delays them by the lease; after it they are due
// again. It is generous because a batch is delivered one item after the
// other: a batch that takes longer than the lease may see its last items
// delivered twice, which receivers tolerate (delivery is at least once).
const OutboxLease = 5 * time.Minute

// Ledger errors.
var (
	// ErrNotFound: no bundle with that id.
	ErrNotFound = errors.New("inbox: no such bundle in the ledger")
	// ErrConflict: the bundle was not in the expected state (another
	// worker, or a repeated command, moved it first).
	ErrConflict = errors.New("inbox: bundle is not in the expected state")
)

// Ledger is the pipeline's memory: every bundle, its state changes, the
// outbox and claims. Every method is one transaction. The embedded
// implementation is SQLite (OpenSQLite); PostgreSQL (OpenPostgres) keeps
// the same behaviour for several workers sharing one database, and
// ledger_test.go checks both against the same table of behaviours.
//
// Times are the callers' clocks (the now arguments), never the database's,
// so the workers sharing a ledger must keep their clocks in step.
type Ledger interface {
	// Detect records a bundle first seen; it reports false when the id is
	// already known (nothing is changed then).
	Detect(ctx context.Context, r Record) (bool, error)
	// Get returns one bundle.
	Get(ctx context.Context, id string) (Record, error)
	// Due lists bundles in detected or verified state whose next attempt
	// is due and that nobody holds a live claim on, oldest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Record, error)
	// Claim takes a bundle for worker until now+lease; false when another
	// worker holds a live claim.
	Claim(ctx context.Context, id, worker string, now time.Time, lease time.Duration) (bool, error)
	// Release drops worker's claim.
	Release(ctx context.Context, id, worker string) error
	// ReleaseAll drops every claim, of bundles and of outbox items: for a
	// gateway that knows it is the only worker (it holds the data folder's
	// lock), after a crash.
	ReleaseAll(ctx context.Context) error
	// Advance moves bundle r.ID from state from to r.State, saving r's
	// fields, and enqueues one outbox item per kind, all in one
	// transaction. ErrConflict when the bundle is not in state from.
	Advance(ctx context.Context, from State, r Record, outbox []string) error
	// Retry records a failed attempt that leaves the state as it is; a
	// bundle already moved past verified (by another worker) is left alone.
	Retry(ctx context.Context, id, code, detail string, next time.Time) error
	// OutboxDue lists outbox items due at now that nobody holds, oldest
	// first, and holds them for the caller until now+OutboxLease: another
	// caller does not get them meanwhile. OutboxDone or OutboxRetry ends
	// the hold.
	OutboxDue(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error)
	// OutboxDone marks an item done and, when it was the bundle's last
	// pending item of its kind group, advances the bundle to notified or
	// receipted. It returns the bundle's states passed through.
	OutboxDone(ctx context.Context, item OutboxItem, now time.Time) ([]State, error)
	// OutboxRetry records a failed delivery, to try again at next.
	OutboxRetry(ctx context.Context, item OutboxItem, detail string, next time.Time) error
	// List returns the bundles of a journal folder ("" for all), newest first.
	List(ctx context.Context, folder string) ([]Record, error)
	// Counts returns how many bundles are in each state.
	Counts(ctx context.Context) (map[State]int, error)
	// Delivered marks a staged bundle delivered to the researcher, which
	// starts its retention period.
	Delivered(ctx context.Context, id string, now time.Time) (Record, error)
	// Expired lists bundles whose staged or rejected data should be deleted:
	// delivered before deliveredBefore, or rejected before rejectedBefore.
	Expired(ctx context.Context, deliveredBefore, rejectedBefore time.Time) ([]Record, error)
	// Purged marks a bundle's data deleted.
	Purged(ctx context.Context, id string, now time.Time) error
	// Meta reads and SetMeta writes a small named value (the audit head).
	Meta(ctx context.Context, key string) (string, error)
	SetMeta(ctx context.Context, key, value string) error
	// SetMetaMax writes value only if it sorts after the value kept, so
	// that writers racing each other leave the greatest.
	SetMetaMax(ctx context.Context, key, value string) error
	// Close releases the database.
	Close() error
}

// outboxSteps is the rule both ledgers apply when an outbox item is done:
// the states a bundle in state passes, given how many notifications and
// how many items in all are still pending for it. A bundle is notified
// once no notification is pending, and receipted once nothing is.
func outboxSteps(state State, pendingNotes, pendingAll int) []State {
	var out []State
	if (state == StateStaged || state == StateRejected) && pendingNotes == 0 {
		state = StateNotified
		out = append(out, state)
	}
	if state == StateNotified && pendingAll == 0 {
		out = append(out, StateReceipted)
	}
	return out
}

// deliverable is the rule for Delivered: only an accepted bundle, staged
// and not yet delivered, can be.
func deliverable(r Record) error {
	if r.Outcome != OutcomeAccepted || (r.State != StateStaged && r.State != StateNotified && r.State != StateReceipted) {
		return fmt.Errorf("%w: it is %s", ErrConflict, r.State)
	}
	return nil
}
