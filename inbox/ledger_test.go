package inbox_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siirto/siirto/inbox"
	"github.com/siirto/siirto/internal/testserver"
)

// The ledger conformance table: every behaviour the pipeline relies on,
// run against the embedded SQLite ledger (always) and the PostgreSQL one
// (on a private cluster the test starts; skipped with -short). A ledger
// that passes one and not the other is a bug in that one.

// t0 has nanoseconds on purpose: a Record must read back exactly.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

var ledgerCases = []struct {
	name string
	run  func(t *testing.T, l inbox.Ledger)
}{
	{"DetectTwice", testDetectTwice},
	{"RoundTrip", testRoundTrip},
	{"Claim", testClaim},
	{"Due", testDue},
	{"Advance", testAdvance},
	{"OutboxHold", testOutboxHold},
	{"OutboxNotificationsFirst", testOutboxNotificationsFirst},
	{"OutboxReceiptFirst", testOutboxReceiptFirst},
	{"OutboxRejected", testOutboxRejected},
	{"OutboxOnlyReceipt", testOutboxOnlyReceipt},
	{"Delivered", testDelivered},
	{"ExpiredPurged", testExpiredPurged},
	{"Meta", testMeta},
	{"Counts", testCounts},
	{"List", testList},
}

// TestLedger runs the conformance table on each ledger, each case on a
// fresh, empty one.
func TestLedger(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		for _, c := range ledgerCases {
			t.Run(c.name, func(t *testing.T) { c.run(t, openSQLiteLedger(t)) })
		}
	})
	t.Run("postgres", func(t *testing.T) {
		pg := testserver.Postgres(t)
		for _, c := range ledgerCases {
			t.Run(c.name, func(t *testing.T) { c.run(t, openPostgresLedger(t, pg.NewDatabase())) })
		}
	})
}

func openSQLiteLedger(t *testing.T) inbox.Ledger {
	t.Helper()
	l, err := inbox.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func openPostgresLedger(t *testing.T, dsn string) *inbox.Postgres {
	t.Helper()
	l, err := inbox.OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// detect records a bundle detected at at, in folder F1 unless given.
func detect(t *testing.T, l inbox.Ledger, id string, at time.Time, folder ...string) inbox.Record {
	t.Helper()
	r := inbox.Record{ID: id, Folder: "F1", Name: "cohort-" + id, PayloadSize: 42, DetectedAt: at}
	if len(folder) > 0 {
		r.Folder = folder[0]
	}
	added, err := l.Detect(t.Context(), r)
	if err != nil || !added {
		t.Fatalf("Detect(%s): %v, %v; want true", id, added, err)
	}
	return get(t, l, id)
}

func get(t *testing.T, l inbox.Ledger, id string) inbox.Record {
	t.Helper()
	r, err := l.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

// advance moves r to state to at time at, failing the test on an error.
func advance(t *testing.T, l inbox.Ledger, r inbox.Record, to inbox.State, at time.Time, outbox ...string) inbox.Record {
	t.Helper()
	from := r.State
	r.State, r.UpdatedAt = to, at
	switch to {
	case inbox.StateStaged:
		r.Outcome = inbox.OutcomeAccepted
	case inbox.StateRejected:
		r.Outcome, r.Code = inbox.OutcomeRejected, "E_TEST"
	}
	if err := l.Advance(t.Context(), from, r, outbox); err != nil {
		t.Fatalf("Advance(%s, %s→%s): %v", r.ID, from, to, err)
	}
	return get(t, l, r.ID)
}

func ids(rs []inbox.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func due(t *testing.T, l inbox.Ledger, now time.Time, limit int) []string {
	t.Helper()
	rs, err := l.Due(t.Context(), now, limit)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	return ids(rs)
}

func outboxDue(t *testing.T, l inbox.Ledger, now time.Time) []inbox.OutboxItem {
	t.Helper()
	items, err := l.OutboxDue(t.Context(), now, 100)
	if err != nil {
		t.Fatalf("OutboxDue: %v", err)
	}
	return items
}

func done(t *testing.T, l inbox.Ledger, it inbox.OutboxItem, now time.Time, want ...inbox.State) {
	t.Helper()
	passed, err := l.OutboxDone(t.Context(), it, now)
	if err != nil {
		t.Fatalf("OutboxDone(%s): %v", it.Kind, err)
	}
	if !slices.Equal(passed, want) {
		t.Fatalf("OutboxDone(%s) passed %v; want %v", it.Kind, passed, want)
	}
}

// byKind finds the due items of the given kinds, in that order.
func byKind(t *testing.T, items []inbox.OutboxItem, kinds ...string) []inbox.OutboxItem {
	t.Helper()
	var out []inbox.OutboxItem
	for _, k := range kinds {
		i := slices.IndexFunc(items, func(it inbox.OutboxItem) bool { return it.Kind == k })
		if i < 0 {
			t.Fatalf("no %s item among %+v", k, items)
		}
		out = append(out, items[i])
	}
	return out
}

func testDetectTwice(t *testing.T, l inbox.Ledger) {
	got := detect(t, l, "b1", t0)
	want := inbox.Record{ID: "b1", Folder: "F1", Name: "cohort-b1", State: inbox.StateDetected,
		PayloadSize: 42, DetectedAt: t0, UpdatedAt: t0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Get after Detect:\n got %+v\nwant %+v", got, want)
	}
	added, err := l.Detect(t.Context(), inbox.Record{ID: "b1", Folder: "other", Name: "x", DetectedAt: t0.Add(time.Hour)})
	if err != nil || added {
		t.Fatalf("second Detect: %v, %v; want false, nil", added, err)
	}
	if got := get(t, l, "b1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("a second Detect changed the record: %+v", got)
	}
	if _, err := l.Get(t.Context(), "nope"); !errors.Is(err, inbox.ErrNotFound) {
		t.Fatalf("Get of an unknown id: %v; want ErrNotFound", err)
	}
}

func testRoundTrip(t *testing.T, l inbox.Ledger) {
	r := detect(t, l, "b1", t0)
	next := t0.Add(time.Hour + time.Nanosecond)
	if err := l.Retry(t.Context(), "b1", "E_IO", "disk full", next); err != nil {
		t.Fatal(err)
	}
	r = get(t, l, "b1")
	if r.Attempts != 1 || r.Code != "E_IO" || r.Detail != "disk full" || !r.NextAttempt.Equal(next) {
		t.Fatalf("after Retry: %+v", r)
	}
	full := r
	full.State, full.Journal, full.Outcome, full.Code, full.Detail = inbox.StateStaged, "THL/1234/14.02.00/2023", inbox.OutcomeAccepted, "", "ok"
	full.PayloadSize, full.PayloadSHA256, full.PlaintextSize, full.PlaintextSHA256 = 1<<40+1, strings.Repeat("ab", 32), 1<<41+3, strings.Repeat("cd", 32)
	full.Files, full.Staging, full.UpdatedAt = 7, "/srv/staging/F1/b1", t0.Add(2*time.Hour+7*time.Nanosecond)
	if err := l.Advance(t.Context(), inbox.StateDetected, full, nil); err != nil {
		t.Fatal(err)
	}
	want := full
	want.NextAttempt = time.Time{} // an advance makes the bundle due at once
	if got := get(t, l, "b1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("Get after Advance:\n got %+v\nwant %+v", got, want)
	}
}

func testClaim(t *testing.T, l inbox.Ledger) {
	ctx := t.Context()
	detect(t, l, "b1", t0)
	claim := func(worker string, now time.Time, want bool) {
		t.Helper()
		ok, err := l.Claim(ctx, "b1", worker, now, time.Minute)
		if err != nil || ok != want {
			t.Fatalf("Claim by %s at +%v: %v, %v; want %v", worker, now.Sub(t0), ok, err, want)
		}
	}
	claim("A", t0, true)
	claim("B", t0, false)
	claim("A", t0.Add(30*time.Second), true) // renews: now held until +90 s
	claim("B", t0.Add(61*time.Second), false)
	claim("B", t0.Add(90*time.Second), true) // A's lease ran out: A died
	claim("A", t0.Add(91*time.Second), false)
	if err := l.Release(ctx, "b1", "A"); err != nil { // not A's any more: no effect
		t.Fatal(err)
	}
	claim("A", t0.Add(92*time.Second), false)
	if err := l.Release(ctx, "b1", "B"); err != nil {
		t.Fatal(err)
	}
	claim("A", t0.Add(93*time.Second), true)
	if err := l.ReleaseAll(ctx); err != nil {
		t.Fatal(err)
	}
	claim("B", t0.Add(94*time.Second), true)
}

func testDue(t *testing.T, l inbox.Ledger) {
	ctx := t.Context()
	for i, id := range []string{"b1", "b2", "b3", "b4"} {
		detect(t, l, id, t0.Add(time.Duration(i)*time.Second))
	}
	now := t0.Add(time.Hour)
	if got := due(t, l, now, 10); !slices.Equal(got, []string{"b1", "b2", "b3", "b4"}) {
		t.Fatalf("Due: %v; want oldest first", got)
	}
	if got := due(t, l, now, 2); !slices.Equal(got, []string{"b1", "b2"}) {
		t.Fatalf("Due with limit 2: %v", got)
	}
	if ok, err := l.Claim(ctx, "b1", "A", now, time.Minute); !ok || err != nil {
		t.Fatalf("Claim: %v, %v", ok, err)
	}
	if err := l.Retry(ctx, "b2", "E_IO", "", now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	advance(t, l, get(t, l, "b3"), inbox.StateVerified, now)
	advance(t, l, get(t, l, "b4"), inbox.StateRejected, now)
	if got := due(t, l, now, 10); !slices.Equal(got, []string{"b3"}) {
		t.Fatalf("Due with b1 claimed, b2 retried later, b4 rejected: %v; want [b3]", got)
	}
	if got := due(t, l, now.Add(10*time.Minute), 10); !slices.Equal(got, []string{"b1", "b2", "b3"}) {
		t.Fatalf("Due after the lease and the retry time: %v; want [b1 b2 b3]", got)
	}
}

func testAdvance(t *testing.T, l inbox.Ledger) {
	ctx := t.Context()
	r := detect(t, l, "b1", t0)
	bad := r
	bad.State = inbox.StateStaged
	if err := l.Advance(ctx, inbox.StateVerified, bad, []string{"email", inbox.KindReceipt}); !errors.Is(err, inbox.ErrConflict) {
		t.Fatalf("Advance from the wrong state: %v; want ErrConflict", err)
	}
	if got := get(t, l, "b1"); got.State != inbox.StateDetected {
		t.Fatalf("a refused Advance changed the state: %s", got.State)
	}
	if items := outboxDue(t, l, t0); len(items) != 0 {
		t.Fatalf("a refused Advance enqueued %+v", items)
	}
	ghost := r
	ghost.ID = "nope"
	if err := l.Advance(ctx, inbox.StateDetected, ghost, nil); !errors.Is(err, inbox.ErrConflict) {
		t.Fatalf("Advance of an unknown bundle: %v; want ErrConflict", err)
	}
	v := advance(t, l, r, inbox.StateVerified, t0.Add(time.Second))
	if err := l.Advance(ctx, inbox.StateDetected, v, nil); !errors.Is(err, inbox.ErrConflict) {
		t.Fatalf("a repeated Advance: %v; want ErrConflict", err)
	}
	advance(t, l, v, inbox.StateStaged, t0.Add(2*time.Second), "email", "webhook", inbox.KindReceipt)
	items := outboxDue(t, l, t0.Add(3*time.Second))
	var kinds []string
	for i, it := range items {
		kinds = append(kinds, it.Kind)
		if it.BundleID != "b1" || it.State != inbox.StateStaged || it.Attempts != 0 || !it.NextAt.IsZero() || it.LastErr != "" {
			t.Errorf("outbox item %+v", it)
		}
		if i > 0 && it.ID <= items[i-1].ID {
			t.Errorf("outbox items not oldest first: %+v", items)
		}
	}
	if !slices.Equal(kinds, []string{"email", "webhook", inbox.KindReceipt}) {
		t.Fatalf("outbox kinds %v; want those of the Advance, in order", kinds)
	}
}

func testOutboxHold(t *testing.T, l inbox.Ledger) {
	ctx := t.Context()
	advance(t, l, detect(t, l, "b1", t0), inbox.StateStaged, t0, "email")
	now := t0.Add(time.Minute)
	items := outboxDue(t, l, now)
	if len(items) != 1 {
		t.Fatalf("OutboxDue: %+v; want the email", items)
	}
	if again := outboxDue(t, l, now.Add(inbox.OutboxLease-time.Nanosecond)); len(again) != 0 {
		t.Fatalf("an item held by another drainer was listed again: %+v", again)
	}
	later := now.Add(inbox.OutboxLease)
	if again := outboxDue(t, l, later); len(again) != 1 || again[0].ID != items[0].ID {
		t.Fatalf("after the hold ran out (a dead drainer): %+v; want the email again", again)
	}
	next := later.Add(time.Hour)
	if err := l.OutboxRetry(ctx, items[0], "connection refused", next); err != nil {
		t.Fatal(err)
	}
	if again := outboxDue(t, l, next.Add(-time.Nanosecond)); len(again) != 0 {
		t.Fatalf("an item retried later was due early: %+v", again)
	}
	again := outboxDue(t, l, next)
	if len(again) != 1 || again[0].Attempts != 1 || again[0].LastErr != "connection refused" || !again[0].NextAt.Equal(next) {
		t.Fatalf("the retried item: %+v", again)
	}
	if held := outboxDue(t, l, next); len(held) != 0 {
		t.Fatalf("held again: %+v", held)
	}
	if err := l.ReleaseAll(ctx); err != nil {
		t.Fatal(err)
	}
	if freed := outboxDue(t, l, next); len(freed) != 1 {
		t.Fatalf("after ReleaseAll: %+v; want the email", freed)
	}
}

func testOutboxNotificationsFirst(t *testing.T, l inbox.Ledger) {
	advance(t, l, detect(t, l, "b1", t0), inbox.StateStaged, t0, "email", "webhook", inbox.KindReceipt)
	it := byKind(t, outboxDue(t, l, t0), "email", "webhook", inbox.KindReceipt)
	done(t, l, it[0], t0.Add(1*time.Second))
	if s := get(t, l, "b1").State; s != inbox.StateStaged {
		t.Fatalf("one notification of two done: %s; want staged", s)
	}
	done(t, l, it[1], t0.Add(2*time.Second), inbox.StateNotified)
	done(t, l, it[2], t0.Add(3*time.Second), inbox.StateReceipted)
	if r := get(t, l, "b1"); r.State != inbox.StateReceipted || !r.UpdatedAt.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("after every item: %+v", r)
	}
	if left := outboxDue(t, l, t0.Add(time.Hour)); len(left) != 0 {
		t.Fatalf("done items due again: %+v", left)
	}
}

func testOutboxReceiptFirst(t *testing.T, l inbox.Ledger) {
	advance(t, l, detect(t, l, "b1", t0), inbox.StateStaged, t0, "email", "webhook", inbox.KindReceipt)
	it := byKind(t, outboxDue(t, l, t0), inbox.KindReceipt, "email", "webhook")
	done(t, l, it[0], t0.Add(1*time.Second))
	done(t, l, it[1], t0.Add(2*time.Second))
	done(t, l, it[2], t0.Add(3*time.Second), inbox.StateNotified, inbox.StateReceipted)
	if s := get(t, l, "b1").State; s != inbox.StateReceipted {
		t.Fatalf("after every item: %s", s)
	}
}

func testOutboxRejected(t *testing.T, l inbox.Ledger) {
	advance(t, l, detect(t, l, "b1", t0), inbox.StateRejected, t0, "email", inbox.KindReceipt)
	it := byKind(t, outboxDue(t, l, t0), "email", inbox.KindReceipt)
	done(t, l, it[0], t0.Add(time.Second), inbox.StateNotified)
	done(t, l, it[1], t0.Add(2*time.Second), inbox.StateReceipted)
}

func testOutboxOnlyReceipt(t *testing.T, l inbox.Ledger) {
	advance(t, l, detect(t, l, "b1", t0), inbox.StateStaged, t0, inbox.KindReceipt)
	it := byKind(t, outboxDue(t, l, t0), inbox.KindReceipt)
	done(t, l, it[0], t0.Add(time.Second), inbox.StateNotified, inbox.StateReceipted)
}

func testDelivered(t *testing.T, l inbox.Ledger) {
	ctx := t.Context()
	advance(t, l, detect(t, l, "ok", t0), inbox.StateStaged, t0)
	advance(t, l, detect(t, l, "bad", t0), inbox.StateRejected, t0)
	detect(t, l, "new", t0)
	at := t0.Add(time.Hour + time.Nanosecond)
	r, err := l.Delivered(ctx, "ok", at)
	if err != nil || r.State != inbox.StateDelivered || !r.DeliveredAt.Equal(at) {
		t.Fatalf("Delivered: %+v, %v", r, err)
	}
	if got := get(t, l, "ok"); got.State != inbox.StateDelivered || !got.DeliveredAt.Equal(at) || !got.UpdatedAt.Equal(at) {
		t.Fatalf("Get after Delivered: %+v", got)
	}
	for _, id := range []string{"ok", "bad", "new"} {
		if _, err := l.Delivered(ctx, id, at); !errors.Is(err, inbox.ErrConflict) {
			t.Errorf("Delivered(%s): %v; want ErrConflict", id, err)
		}
	}
	if _, err := l.Delivered(ctx, "nope", at); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("Delivered of an unknown id: %v; want ErrNotFound", err)
	}
}

func testExpiredPurged(t *testing.T, l inbox.Ledger) {
	ctx := t.Context()
	for _, id := range []string{"d1", "d2"} {
		advance(t, l, detect(t, l, id, t0), inbox.StateStaged, t0)
	}
	if _, err := l.Delivered(ctx, "d1", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Delivered(ctx, "d2", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	advance(t, l, detect(t, l, "r1", t0), inbox.StateRejected, t0)
	advance(t, l, detect(t, l, "r2", t0), inbox.StateRejected, t0.Add(2*time.Hour))
	advance(t, l, detect(t, l, "s1", t0), inbox.StateStaged, t0) // staged, never delivered: kept
	cut := t0.Add(time.Hour)
	expired := func() []string {
		t.Helper()
		rs, err := l.Expired(ctx, cut, cut)
		if err != nil {
			t.Fatal(err)
		}
		got := ids(rs)
		slices.Sort(got)
		return got
	}
	if got := expired(); !slices.Equal(got, []string{"d1", "r1"}) {
		t.Fatalf("Expired: %v; want [d1 r1]", got)
	}
	at := t0.Add(3*time.Hour + time.Nanosecond)
	if err := l.Purged(ctx, "d1", at); err != nil {
		t.Fatal(err)
	}
	if r := get(t, l, "d1"); r.State != inbox.StatePurged || !r.PurgedAt.Equal(at) || !r.UpdatedAt.Equal(at) {
		t.Fatalf("after Purged: %+v", r)
	}
	if got := expired(); !slices.Equal(got, []string{"r1"}) {
		t.Fatalf("Expired after purging d1: %v; want [r1]", got)
	}
}

func testMeta(t *testing.T, l inbox.Ledger) {
	ctx := t.Context()
	check := func(key, want string) {
		t.Helper()
		if got, err := l.Meta(ctx, key); err != nil || got != want {
			t.Fatalf("Meta(%s): %q, %v; want %q", key, got, err, want)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check("head", "")
	must(l.SetMeta(ctx, "head", "b"))
	check("head", "b")
	must(l.SetMeta(ctx, "head", "a")) // SetMeta overwrites, smaller or not
	check("head", "a")
	must(l.SetMetaMax(ctx, "head", "0"))
	check("head", "a")
	must(l.SetMetaMax(ctx, "head", "c"))
	check("head", "c")
	must(l.SetMetaMax(ctx, "new", "x"))
	check("new", "x")
	// Bytes, not a locale's order: 'a' (0x61) sorts after 'B' (0x42).
	must(l.SetMeta(ctx, "case", "B"))
	must(l.SetMetaMax(ctx, "case", "a"))
	check("case", "a")
}

func testCounts(t *testing.T, l inbox.Ledger) {
	detect(t, l, "b1", t0)
	advance(t, l, detect(t, l, "b2", t0), inbox.StateVerified, t0)
	advance(t, l, detect(t, l, "b3", t0), inbox.StateRejected, t0)
	detect(t, l, "b4", t0)
	got, err := l.Counts(t.Context())
	want := map[inbox.State]int{inbox.StateDetected: 2, inbox.StateVerified: 1, inbox.StateRejected: 1}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Counts: %v, %v; want %v", got, err, want)
	}
}

func testList(t *testing.T, l inbox.Ledger) {
	detect(t, l, "old", t0, "F1")
	detect(t, l, "mid", t0.Add(time.Second), "F2")
	detect(t, l, "new", t0.Add(2*time.Second), "F1")
	list := func(folder string) []string {
		t.Helper()
		rs, err := l.List(t.Context(), folder)
		if err != nil {
			t.Fatal(err)
		}
		return ids(rs)
	}
	if got := list(""); !slices.Equal(got, []string{"new", "mid", "old"}) {
		t.Fatalf("List all: %v; want newest first", got)
	}
	if got := list("F1"); !slices.Equal(got, []string{"new", "old"}) {
		t.Fatalf("List F1: %v", got)
	}
	if got := list("none"); len(got) != 0 {
		t.Fatalf("List of an unknown folder: %v", got)
	}
}

// TestPostgresLedgerMigrations: workers starting at once migrate the
// database once between them, and a database newer than the binary is
// refused.
func TestPostgresLedgerMigrations(t *testing.T) {
	pg := testserver.Postgres(t)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			l, err := inbox.OpenPostgres(t.Context(), pg.DSN)
			if err == nil {
				l.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("workers opening at once: %v", err)
		}
	}
	conn := pgConn(t, pg.DSN)
	rows, err := conn.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) < 2 || versions[0] != 1 || versions[len(versions)-1] != len(versions) {
		t.Fatalf("schema_migrations: %v; want 1…n, each once", versions)
	}
	if _, err := conn.Exec(t.Context(), `INSERT INTO schema_migrations(version) VALUES (999)`); err != nil {
		t.Fatal(err)
	}
	if _, err := inbox.OpenPostgres(t.Context(), pg.DSN); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer schema: %v; want it refused", err)
	}
}

func pgConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(t.Context()) })
	return conn
}

// TestPostgresLedgerRestart: the server restarts between two calls; the
// second may fail (clearly), but the pool reconnects and a retry succeeds
// with nothing lost.
func TestPostgresLedgerRestart(t *testing.T) {
	pg := testserver.Postgres(t)
	l := openPostgresLedger(t, pg.DSN)
	detect(t, l, "b1", t0)
	pg.Restart()
	var r inbox.Record
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for attempt := 1; ; attempt++ {
		if r, err = l.Get(t.Context(), "b1"); err == nil {
			break
		}
		if !strings.HasPrefix(err.Error(), "ledger:") {
			t.Errorf("an error after a restart does not say where it comes from: %v", err)
		}
		t.Logf("attempt %d after the restart failed: %v", attempt, err)
		if time.Now().After(deadline) {
			t.Fatalf("the ledger did not reconnect within 10 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r.ID != "b1" || r.State != inbox.StateDetected {
		t.Fatalf("after the restart: %+v", r)
	}
	detect(t, l, "b2", t0) // and writes work too
}

// TestPostgresLedgerConcurrentWorkers: several workers, each with its own
// pool as separate processes would have, take 200 bundles through
// detected → verified → staged with Due+Claim+Advance, then three
// drainers deliver the outbox. Every step happens exactly once.
func TestPostgresLedgerConcurrentWorkers(t *testing.T) {
	const bundles, workers, drainers = 200, 4, 3
	kinds := []string{"email", "webhook", inbox.KindReceipt}
	pg := testserver.Postgres(t)
	setup := openPostgresLedger(t, pg.DSN)
	for i := range bundles {
		detect(t, setup, fmt.Sprintf("b%03d", i), t0.Add(time.Duration(i)*time.Millisecond))
	}

	var mu sync.Mutex
	holder := map[string]string{} // bundle → worker holding its claim, as the workers see it
	advanced := map[string]int{}  // "bundle/state" → successful Advances
	delivered := map[int64]int{}  // outbox item → deliveries
	passed := map[string]int{}    // "bundle/state" → OutboxDone reporting it
	var failures []string         // what went wrong, reported at the end
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	finished := func(l inbox.Ledger, s inbox.State, want int) bool {
		c, err := l.Counts(t.Context())
		if err != nil {
			fail("Counts: %v", err)
			return true
		}
		return c[s] == want
	}
	deadline := time.Now().Add(2 * time.Minute)

	work := func(l inbox.Ledger, name string) {
		for time.Now().Before(deadline) {
			now := time.Now()
			due, err := l.Due(t.Context(), now, 5)
			if err != nil {
				fail("%s: Due: %v", name, err)
				return
			}
			if len(due) == 0 {
				if finished(l, inbox.StateStaged, bundles) {
					return
				}
				time.Sleep(2 * time.Millisecond) // the rest are claimed by others
			}
			for _, r := range due {
				ok, err := l.Claim(t.Context(), r.ID, name, now, time.Minute)
				if err != nil {
					fail("%s: Claim: %v", name, err)
					return
				}
				if !ok {
					continue
				}
				mu.Lock()
				if h := holder[r.ID]; h != "" {
					failures = append(failures, fmt.Sprintf("%s claimed %s while %s held it", name, r.ID, h))
				}
				holder[r.ID] = name
				mu.Unlock()
				// The listing may be stale: another worker may have moved the
				// bundle on and released it since. The claim makes this read
				// current until the release.
				cur, err := l.Get(t.Context(), r.ID)
				if err != nil {
					fail("%s: Get: %v", name, err)
					return
				}
				next, from := cur, cur.State
				var outbox []string
				switch from {
				case inbox.StateDetected:
					next.State = inbox.StateVerified
				case inbox.StateVerified:
					next.State, next.Outcome, outbox = inbox.StateStaged, inbox.OutcomeAccepted, kinds
				}
				if next.State != from {
					next.UpdatedAt = time.Now().UTC()
					if err := l.Advance(t.Context(), from, next, outbox); err != nil {
						fail("%s: Advance %s %s→%s under its claim: %v", name, r.ID, from, next.State, err)
					} else {
						mu.Lock()
						advanced[r.ID+"/"+string(next.State)]++
						mu.Unlock()
					}
				}
				mu.Lock()
				delete(holder, r.ID) // before the release: another may claim at once after it
				mu.Unlock()
				if err := l.Release(t.Context(), r.ID, name); err != nil {
					fail("%s: Release: %v", name, err)
					return
				}
			}
		}
		fail("%s: not finished in time", name)
	}
	drain := func(l inbox.Ledger, name string) {
		for time.Now().Before(deadline) {
			items, err := l.OutboxDue(t.Context(), time.Now(), 2)
			if err != nil {
				fail("%s: OutboxDue: %v", name, err)
				return
			}
			if len(items) == 0 {
				if finished(l, inbox.StateReceipted, bundles) {
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
			for _, it := range items {
				mu.Lock()
				delivered[it.ID]++
				mu.Unlock()
				states, err := l.OutboxDone(t.Context(), it, time.Now().UTC())
				if err != nil {
					fail("%s: OutboxDone: %v", name, err)
					return
				}
				mu.Lock()
				for _, s := range states {
					passed[it.BundleID+"/"+string(s)]++
				}
				mu.Unlock()
			}
		}
		fail("%s: not finished in time", name)
	}
	run := func(n int, prefix string, f func(inbox.Ledger, string)) {
		var wg sync.WaitGroup
		for i := range n {
			l := openPostgresLedger(t, pg.DSN)
			wg.Go(func() { f(l, fmt.Sprintf("%s-%d", prefix, i)) })
		}
		wg.Wait()
	}

	run(workers, "worker", work)
	run(drainers, "drainer", drain)
	for _, f := range failures {
		t.Error(f)
	}
	if t.Failed() {
		t.FailNow()
	}

	for i := range bundles {
		id := fmt.Sprintf("b%03d", i)
		for _, s := range []inbox.State{inbox.StateVerified, inbox.StateStaged} {
			if n := advanced[id+"/"+string(s)]; n != 1 {
				t.Errorf("%s advanced to %s %d times; want once", id, s, n)
			}
		}
		for _, s := range []inbox.State{inbox.StateNotified, inbox.StateReceipted} {
			if n := passed[id+"/"+string(s)]; n != 1 {
				t.Errorf("%s reported %s %d times; want once", id, s, n)
			}
		}
	}
	if len(delivered) != bundles*len(kinds) {
		t.Errorf("%d outbox items delivered; want %d", len(delivered), bundles*len(kinds))
	}
	for id, n := range delivered {
		if n != 1 {
			t.Errorf("outbox item %d delivered %d times; want once", id, n)
		}
	}
	// The ledger's own account: one history row per state per bundle.
	rows, err := pgConn(t, pg.DSN).Query(t.Context(),
		`SELECT state, COUNT(*), COUNT(DISTINCT bundle_id) FROM history GROUP BY state ORDER BY state`)
	if err != nil {
		t.Fatal(err)
	}
	type tally struct {
		State         string
		Rows, Bundles int
	}
	tallies, err := pgx.CollectRows(rows, pgx.RowToStructByPos[tally])
	if err != nil {
		t.Fatal(err)
	}
	if len(tallies) != 5 {
		t.Errorf("history states %+v; want detected, notified, receipted, staged, verified", tallies)
	}
	for _, c := range tallies {
		if c.Rows != bundles || c.Bundles != bundles {
			t.Errorf("history has %d %s rows for %d bundles; want one for each of %d", c.Rows, c.State, c.Bundles, bundles)
		}
	}
}
