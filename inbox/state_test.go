package inbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/inbox"
	"github.com/siirto/siirto/verify"
)

// goodCase copies a good corpus bundle into the harness's inbox.
func goodCase(t *testing.T, h *harness) caseInfo {
	t.Helper()
	dir := filepath.Join(corpus, "bundles", "good", "packed-folder")
	c := loadCase(t, dir)
	h.journal[c.folder] = inbox.Journal{Channels: []string{"email"}}
	copyTree(t, filepath.Join(dir, c.folder), filepath.Join(h.cfg.Inbox, c.folder))
	return c
}

func only(t *testing.T, h *harness) inbox.Record {
	t.Helper()
	recs, err := h.ledger.List(context.Background(), "")
	if err != nil || len(recs) != 1 {
		t.Fatalf("ledger: %+v %v", recs, err)
	}
	return recs[0]
}

// TestDiskFullIsRetried: no space in staging is the gateway's problem,
// not the bundle's: it is retried, never rejected.
func TestDiskFullIsRetried(t *testing.T) {
	h := newHarness(t)
	goodCase(t, h)
	free := int64(1 << 10)
	h.cfg.Free = func(string) (int64, error) { return free, nil }
	now := time.Now()
	h.cfg.Now = func() time.Time { return now }
	p := h.pipeline(t)
	if err := p.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := only(t, h)
	if r.State != inbox.StateVerified || r.Code != string(verify.CodeDiskFull) || r.Attempts != 1 || !r.NextAttempt.After(now) {
		t.Fatalf("after a full disk: %+v", r)
	}
	assertNothingStaged(t, h)
	free = 1 << 40
	now = now.Add(time.Hour)
	if err := p.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := only(t, h); r.State != inbox.StateReceipted || r.Outcome != inbox.OutcomeAccepted {
		t.Fatalf("after space came back: %+v", r)
	}
}

// TestRestartAfterCrashInStaging: what a kill can leave in staging (a
// half-extracted folder, a trash folder, even a complete copy whose ledger
// commit never happened) ends as exactly one staged copy.
func TestRestartAfterCrashInStaging(t *testing.T) {
	h := newHarness(t)
	c := goodCase(t, h)
	h.cfg.Free = func(string) (int64, error) { return 0, nil } // stop after verified
	if err := h.pipeline(t).Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := only(t, h)
	if r.State != inbox.StateVerified {
		t.Fatalf("%+v", r)
	}
	folder := filepath.Join(h.cfg.Staging, c.folder)
	for _, d := range []string{"." + r.ID + ".part-123", ".trash-" + r.ID, r.ID} {
		os.MkdirAll(filepath.Join(folder, d, "cohort"), 0o700)
		os.WriteFile(filepath.Join(folder, d, "cohort", "half.csv"), []byte("partial"), 0o600)
	}
	h.cfg.Free = nil
	h.cfg.Now = func() time.Time { return time.Now().Add(time.Hour) } // past the retry time
	if err := h.pipeline(t).Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	r = only(t, h)
	if r.State != inbox.StateReceipted {
		t.Fatalf("%+v", r)
	}
	entries, _ := os.ReadDir(folder)
	if len(entries) != 1 || entries[0].Name() != r.ID {
		t.Fatalf("staging holds %v, want exactly %s", entries, r.ID)
	}
	if _, err := os.Stat(filepath.Join(r.Staging, "cohort", "half.csv")); !os.IsNotExist(err) {
		t.Fatal("the crash's partial copy survived in the staged folder")
	}
	checkStaged(t, h, r)
}

// TestRetention: a delivered bundle's staged data is deleted after the
// retention period, audited, and the ledger says purged.
func TestRetention(t *testing.T) {
	h := newHarness(t)
	goodCase(t, h)
	now := time.Now()
	h.cfg.Now = func() time.Time { return now }
	p := h.pipeline(t)
	if err := p.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := only(t, h)
	if _, err := h.ledger.Delivered(context.Background(), r.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ledger.Delivered(context.Background(), r.ID, now); !errors.Is(err, inbox.ErrConflict) {
		t.Fatalf("delivered twice: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	now = now.Add(89 * 24 * time.Hour)
	runFor(t, ctx, cancel, h.pipeline(t))
	if _, err := os.Stat(r.Staging); err != nil {
		t.Fatalf("deleted before the retention period ended: %v", err)
	}
	now = now.Add(2 * 24 * time.Hour)
	ctx, cancel = context.WithCancel(context.Background())
	runFor(t, ctx, cancel, h.pipeline(t))
	if _, err := os.Stat(r.Staging); !os.IsNotExist(err) {
		t.Fatalf("staged data kept after retention: %v", err)
	}
	if r := only(t, h); r.State != inbox.StatePurged || r.PurgedAt.IsZero() {
		t.Fatalf("%+v", r)
	}
	found := false
	for _, e := range h.rec.events {
		found = found || (e.Action == "retention_delete" && e.Bundle == r.ID)
	}
	if !found {
		t.Fatal("the deletion was not audited")
	}
}

// runFor runs the pipeline long enough for its first pass (which applies
// retention), then stops it.
func runFor(t *testing.T, ctx context.Context, cancel context.CancelFunc, p *inbox.Pipeline) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for !p.Ready() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestDeliveryRetriedThenGivenUp: a temporary failure is retried later; a
// permanent one is given up, audited, and the bundle still moves on.
func TestDeliveryRetriedThenGivenUp(t *testing.T) {
	h := newHarness(t)
	goodCase(t, h)
	now := time.Now()
	h.cfg.Now = func() time.Time { return now }
	h.rec.fail = errors.New("connection refused")
	p := h.pipeline(t)
	if err := p.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := only(t, h)
	if r.State != inbox.StateStaged {
		t.Fatalf("a failed mail must hold the bundle at staged: %+v", r)
	}
	h.rec.fail = fmt.Errorf("%w: 550 no such mailbox", inbox.ErrPermanent)
	now = now.Add(time.Hour)
	p.Drain(context.Background())
	if r := only(t, h); r.State != inbox.StateReceipted {
		t.Fatalf("after giving up: %+v", r)
	}
	found := false
	for _, e := range h.rec.events {
		found = found || e.Action == "notify_failed"
	}
	if !found {
		t.Fatal("giving up was not audited")
	}
}

// TestStagingStore: with a staging store, the verified files are
// published there as a bundle encrypted to the handlers' key, nothing
// stays in local staging, and retention deletes the published bundle.
// The store is a local folder and, unless -short, an S3 bucket.
func TestStagingStore(t *testing.T) {
	for _, c := range []struct {
		name string
		open func(t *testing.T) (store clients.Store, url string)
	}{
		{"local", func(t *testing.T) (clients.Store, string) {
			remote := t.TempDir()
			store, err := clients.NewLocal(remote)
			if err != nil {
				t.Fatal(err)
			}
			return store, "file://" + remote + "/"
		}},
		{"s3", func(t *testing.T) (clients.Store, string) {
			if testing.Short() {
				t.Skip("starts versitygw")
			}
			return s3Store(t, "staging/")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			store, url := c.open(t)
			testStagingStore(t, store, url)
		})
	}
}

func testStagingStore(t *testing.T, store clients.Store, url string) {
	h := newHarness(t)
	goodCase(t, h)
	handlersPub, handlers, err := encrypt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	h.cfg.StageStore, h.cfg.StageRecipients, h.cfg.StageURL = store, []encrypt.PublicKey{handlersPub}, url
	h.cfg.Retention = 90 * 24 * time.Hour
	now := time.Now()
	h.cfg.Now = func() time.Time { return now }
	ctx := context.Background()
	if err := h.pipeline(t).Once(ctx); err != nil {
		t.Fatal(err)
	}
	r := only(t, h)
	published := strings.TrimPrefix(r.Staging, url)
	if r.State != inbox.StateReceipted || !strings.HasPrefix(r.Staging, h.cfg.StageURL) {
		t.Fatalf("%+v", r)
	}
	assertNothingStaged(t, h)
	// The handlers' key opens it, and verify finds it whole.
	read := func(name string) []byte {
		f, err := store.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	manifest := read(published)
	payload := read(strings.TrimSuffix(published, ".json") + ".c4gh")
	_, err = verify.Check(ctx, verify.Bundle{Name: r.Name, Manifest: manifest, Payload: bytes.NewReader(payload), PayloadSize: int64(len(payload))},
		verify.Options{Key: &handlers, Recipients: []encrypt.PublicKey{handlersPub}})
	if err != nil {
		t.Fatalf("the published bundle does not verify with the handlers' key: %v", err)
	}
	if _, err := h.ledger.Delivered(ctx, r.ID, now); err != nil {
		t.Fatal(err)
	}
	now = now.Add(91 * 24 * time.Hour)
	// Without the staging store configured any more, retention cannot
	// delete the published copy, and must not record it as deleted.
	h.cfg.StageStore, h.cfg.StageURL = nil, ""
	runCtx, cancel := context.WithCancel(ctx)
	runFor(t, runCtx, cancel, h.pipeline(t))
	if r := only(t, h); r.State == inbox.StatePurged {
		t.Fatal("purged a bundle published to a staging store no longer configured")
	}
	if _, err := store.Stat(ctx, published); err != nil {
		t.Fatalf("the published bundle: %v", err)
	}
	h.cfg.StageStore, h.cfg.StageURL = store, url
	runCtx, cancel = context.WithCancel(ctx)
	runFor(t, runCtx, cancel, h.pipeline(t))
	if _, err := store.Stat(ctx, published); !errors.Is(err, clients.ErrNotFound) {
		t.Fatalf("the published bundle was kept after retention: %v", err)
	}
	if r := only(t, h); r.State != inbox.StatePurged {
		t.Fatalf("%+v", r)
	}
}
