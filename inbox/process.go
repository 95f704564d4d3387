package inbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// process takes one claimed bundle as far as it can go now: detected →
// verified → staged, or rejected. A failure that is not the bundle's
// fault (disk full, I/O) leaves the state as it is, to retry with backoff.
func (p *Pipeline) process(ctx context.Context, r Record) {
	ok, err := p.cfg.Ledger.Claim(ctx, r.ID, p.cfg.Worker, p.cfg.Now(), p.cfg.Lease)
	if err != nil || !ok {
		return
	}
	defer p.cfg.Ledger.Release(context.WithoutCancel(ctx), r.ID, p.cfg.Worker)
	// The claim is renewed while the work goes on, so a bundle that takes
	// longer than the lease is not taken over; if it is lost all the same
	// (this worker stalled past its lease), the work stops.
	// The renewer is joined before Release, so no renewal can land after
	// the claim is given up (and nothing outlives this call).
	ctx, stop := context.WithCancel(ctx)
	id, held, claimed := r.ID, make(chan struct{}), p.cfg.Now()
	go func() {
		defer close(held)
		p.holdClaim(ctx, stop, id, claimed)
	}()
	defer func() { stop(); <-held }()
	// Another worker may have moved the bundle on between Due and Claim:
	// work from what the ledger says now.
	if r, err = p.cfg.Ledger.Get(ctx, r.ID); err != nil || (r.State != StateDetected && r.State != StateVerified) {
		return
	}
	log := p.log.With("bundle", r.ID, "folder", r.Folder, "name", r.Name)
	err = p.advance(ctx, &r)
	// Another worker moved the bundle on first: nothing is this one's to record.
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrConflict) {
		return
	}
	code := verify.CodeOf(err)
	if rejects(code) {
		if err := p.reject(ctx, r, code, err); err != nil && ctx.Err() == nil {
			log.Error("recording a rejection failed", "code", code, "err", err)
		}
		return
	}
	next := p.cfg.Now().Add(backoff(r.Attempts))
	log.Error("bundle processing failed; it will be retried", "code", code, "err", err, "retry_at", next)
	if err := p.cfg.Ledger.Retry(context.WithoutCancel(ctx), r.ID, string(code), err.Error(), next); err != nil {
		log.Error("ledger: recording the retry failed", "err", err)
	}
}

// holdClaim renews the claim on id (last renewed at renewed) every
// third of the lease until ctx ends; it calls lost if another worker has taken the bundle over.
func (p *Pipeline) holdClaim(ctx context.Context, lost func(), id string, renewed time.Time) {
	t := time.NewTicker(p.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ok, err := p.cfg.Ledger.Claim(ctx, id, p.cfg.Worker, p.cfg.Now(), p.cfg.Lease)
			switch {
			case err == nil && ok:
				renewed = p.cfg.Now()
				continue
			case err == nil:
				p.log.Error("the claim on a bundle was lost to another worker; stopping work on it", "bundle", id)
			case p.cfg.Now().Sub(renewed) < p.cfg.Lease:
				continue // the ledger may answer again before the lease runs out
			default:
				// Unrenewed for a whole lease: another worker may have it now.
				p.log.Error("the claim on a bundle could not be renewed for a whole lease; stopping work on it", "bundle", id, "err", err)
			}
			lost()
			return
		}
	}
}

// rejects tells the bundle's faults, answered with a rejection receipt,
// from the gateway's own troubles, which are retried.
func rejects(c verify.Code) bool {
	return verify.Lookup(c).Class == verify.ClassBundle || c == verify.CodeWrongKey
}

// opened is a bundle read from its journal folder; b.Payload, when set,
// is the file openFile returned, so close closes it.
type opened struct {
	b       verify.Bundle
	journal Journal
}

func (o *opened) close() {
	if c, ok := o.b.Payload.(io.Closer); ok {
		c.Close()
	}
}

func (p *Pipeline) open(ctx context.Context, r Record) (*opened, error) {
	manifest, id, err := p.readManifest(ctx, r.Folder, encrypt.ManifestName(r.Name))
	if notFound(err) {
		return nil, verify.Errorf(verify.CodeManifestMissing, "the manifest was removed before it was processed")
	}
	if err != nil {
		return nil, verify.AsError(err)
	}
	if id != r.ID {
		return nil, verify.Errorf(verify.CodeManifestInvalid, "the manifest changed after it was detected")
	}
	o := &opened{b: verify.Bundle{Name: r.Name, Folder: r.Folder, Manifest: manifest}}
	if o.b.JournalFile, err = p.readSmall(ctx, r.Folder, verify.JournalFile); err != nil {
		return nil, verify.AsError(err)
	}
	if p.cfg.Journals != nil {
		if o.journal, err = p.cfg.Journals.Journal(ctx, r.Folder); err != nil {
			return nil, err
		}
	}
	if err := p.openPayload(ctx, r, o); err != nil {
		return nil, err
	}
	return o, nil
}

// openPayload (re)opens the payload from its start.
func (p *Pipeline) openPayload(ctx context.Context, r Record, o *opened) error {
	o.close()
	o.b.Payload = nil
	f, size, err := p.openFile(ctx, r.Folder, encrypt.PayloadName(r.Name))
	switch {
	case notFound(err):
		o.b.PayloadSize = 0
	case err != nil:
		return verify.AsError(err)
	default:
		o.b.Payload, o.b.PayloadSize = f, size
	}
	return nil
}

func (p *Pipeline) options(o *opened) verify.Options {
	return verify.Options{
		Recipients: []encrypt.PublicKey{p.cfg.Key.Public()},
		Senders:    o.journal.Senders,
		Limits:     p.cfg.Limits,
	}
}

// advance runs the steps left for r, which is detected or verified; it
// returns the error that stopped it.
func (p *Pipeline) advance(ctx context.Context, r *Record) error {
	o, err := p.open(ctx, *r)
	if err != nil {
		return err
	}
	defer o.close()
	r.PayloadSize = o.b.PayloadSize
	if r.State == StateDetected {
		opts := p.options(o)
		opts.HeaderOnly = true
		res, err := verify.Check(ctx, o.b, opts)
		if res != nil {
			r.Journal = res.Journal
		}
		if err != nil {
			return err
		}
		next := *r
		next.State, next.UpdatedAt = StateVerified, p.cfg.Now().UTC()
		next.PayloadSHA256 = res.Manifest.Payload.SHA256
		next.Code, next.Detail = "", ""
		if err := p.cfg.Ledger.Advance(ctx, StateDetected, next, nil); err != nil {
			return err
		}
		*r = next
		if err := p.auditState(*r, nil); err != nil {
			return err
		}
		// From the start again: a local file seeks, a stream is reopened.
		if sk, ok := o.b.Payload.(io.Seeker); ok {
			if _, err := sk.Seek(0, io.SeekStart); err != nil {
				return verify.AsError(err)
			}
		} else if err := p.openPayload(ctx, *r, o); err != nil {
			return err
		}
	}
	return p.stage(ctx, r, o)
}

// stage decrypts into staging/<folder>/<id>/: the files go to a hidden
// temp folder renamed into place only after every check passed. The
// plaintext zip is not written, except for a zip verify cannot read as a
// stream, which goes to a nameless private file in staging/.work.
func (p *Pipeline) stage(ctx context.Context, r *Record, o *opened) error {
	m, err := verify.ParseManifest(o.b.Manifest)
	if err != nil {
		return err
	}
	// Space for the files, extracted as the payload is decrypted (the rare
	// zip that must first be decrypted whole needs twice that; if the disk
	// fills then, the bundle is retried like here, never rejected).
	need := m.Plaintext.Size + 64<<20
	if free, err := p.cfg.Free(p.cfg.Staging); err == nil && free < need {
		return verify.Errorf(verify.CodeDiskFull, "staging has %d bytes free; this bundle needs about %d", free, need)
	}
	folder := filepath.Join(p.cfg.Staging, r.Folder)
	target := filepath.Join(folder, r.ID)
	if err := os.MkdirAll(folder, 0o700); err != nil {
		return verify.AsError(err)
	}
	// A crash after the rename but before the ledger said so leaves a
	// complete copy: it is replaced, so the bundle is staged exactly once.
	if err := removeTree(target); err != nil {
		return verify.AsError(err)
	}
	work, err := p.makeWorkDir()
	if err != nil {
		return verify.AsError(err)
	}
	opts := p.options(o)
	opts.Key, opts.WorkDir, opts.ExtractTo = p.cfg.Key, work, target
	res, err := verify.Check(ctx, o.b, opts)
	if err != nil {
		return err
	}
	// The files are in place; until the ledger says so they are nobody's,
	// so any failure from here on removes them again.
	recorded := false
	defer func() {
		if !recorded {
			_ = removeTree(target)
		}
	}()
	if err := encrypt.SyncDir(folder); err != nil {
		return verify.AsError(err)
	}
	staging := target
	if p.cfg.StageStore != nil {
		if staging, err = p.publish(ctx, *r, res.Journal, target); err != nil {
			return err
		}
		// The plaintext goes before the ledger says staged: from here a
		// crash leaves a trash folder, removed at start, and the bundle
		// verified, to be published again over the same keys.
		trash := filepath.Join(folder, ".trash-"+r.ID)
		if err := os.Rename(target, trash); err != nil {
			return verify.AsError(err)
		}
		target = trash
		defer removeTree(trash)
	}
	next := *r
	next.State, next.Outcome, next.UpdatedAt = StateStaged, OutcomeAccepted, p.cfg.Now().UTC()
	next.Journal = res.Journal
	next.PayloadSize, next.PayloadSHA256 = m.Payload.Size, m.Payload.SHA256
	next.PlaintextSize, next.PlaintextSHA256 = m.Plaintext.Size, m.Plaintext.SHA256
	next.Files, next.Staging = len(res.Files), staging
	next.Code, next.Detail = "", ""
	if err := p.cfg.Ledger.Advance(ctx, StateVerified, next, p.outboxKinds(o.journal)); err != nil {
		return err
	}
	recorded = true
	*r = next
	if p.cfg.Observe != nil {
		p.cfg.Observe.Processed("", m.Payload.Size, m.Plaintext.Size, p.cfg.Now().Sub(r.DetectedAt))
	}
	p.log.Info("bundle staged", "bundle", r.ID, "folder", r.Folder, "files", next.Files, "plaintext_size", next.PlaintextSize, "staging", staging)
	if err := p.audit(Event{Action: "decrypt", Folder: r.Folder, Bundle: r.ID, Fields: map[string]string{
		"plaintext_size": fmt.Sprint(m.Plaintext.Size), "files": fmt.Sprint(len(res.Files)), "staging": staging}}); err != nil {
		return err
	}
	return p.auditState(*r, nil)
}

func (p *Pipeline) outboxKinds(j Journal) []string {
	return append(append([]string(nil), j.Channels...), KindReceipt)
}

// reject records a bundle's refusal with its code; the outbox then tells
// the handlers and writes the receipt that tells the uploader.
func (p *Pipeline) reject(ctx context.Context, r Record, code verify.Code, cause error) error {
	var j Journal
	if p.cfg.Journals != nil {
		var err error
		if j, err = p.cfg.Journals.Journal(ctx, r.Folder); err != nil {
			return err // the bundle stays due: its handlers must be told
		}
	}
	from := r.State
	r.State, r.Outcome, r.Code, r.Detail = StateRejected, OutcomeRejected, string(code), cause.Error()
	r.UpdatedAt = p.cfg.Now().UTC()
	if err := p.cfg.Ledger.Advance(ctx, from, r, p.outboxKinds(j)); err != nil {
		return err
	}
	if p.cfg.Observe != nil {
		p.cfg.Observe.Processed(string(code), r.PayloadSize, 0, p.cfg.Now().Sub(r.DetectedAt))
	}
	p.log.Warn("bundle rejected", "bundle", r.ID, "folder", r.Folder, "name", r.Name, "code", code, "detail", cause.Error())
	return p.auditState(r, map[string]string{"detail": cause.Error()})
}

func (p *Pipeline) auditState(r Record, extra map[string]string) error {
	f := map[string]string{"state": string(r.State)}
	if r.Code != "" {
		f["code"] = r.Code
	}
	for k, v := range extra {
		f[k] = v
	}
	return p.audit(Event{Action: "state", Folder: r.Folder, Bundle: r.ID, Fields: f})
}
