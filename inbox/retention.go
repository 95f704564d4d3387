package inbox

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/siirto/siirto/encrypt"
)

// retain deletes what retention allows: staged data of bundles delivered
// more than Retention ago (with a kept payload), and rejected bundles'
// files after RejectedRetention. Each deletion is audited.
func (p *Pipeline) retain(ctx context.Context) {
	if p.cfg.Retention <= 0 && p.cfg.RejectedRetention <= 0 {
		return
	}
	now := p.cfg.Now().UTC()
	// A retention of 0 keeps that kind of data: the zero time matches nothing.
	cut := func(d time.Duration) time.Time {
		if d <= 0 {
			return time.Time{}
		}
		return now.Add(-d)
	}
	expired, err := p.cfg.Ledger.Expired(ctx, cut(p.cfg.Retention), cut(p.cfg.RejectedRetention))
	if err != nil {
		if ctx.Err() == nil {
			p.log.Error("ledger: listing expired bundles failed", "err", err)
		}
		return
	}
	for _, r := range expired {
		if err := p.purge(ctx, r); err != nil {
			p.log.Error("retention: deleting a bundle's data failed", "bundle", r.ID, "err", err)
		}
	}
}

// purge deletes one bundle's retained data now and records it.
func (p *Pipeline) purge(ctx context.Context, r Record) error {
	// What the audit names as deleted; only accepted bundles have staging.
	deleted := r.Staging
	switch {
	case r.Outcome == OutcomeRejected:
		deleted = p.rejectedDir(r)
		if err := removeTree(deleted); err != nil {
			return err
		}
	case p.cfg.StageStore != nil && p.cfg.StageURL != "" && strings.HasPrefix(r.Staging, p.cfg.StageURL):
		// Published to the staging store: the payload, then the manifest.
		base := path.Join(r.Folder, r.ID)
		for _, name := range []string{encrypt.PayloadName(r.Name), encrypt.ManifestName(r.Name)} {
			if err := p.cfg.StageStore.Remove(ctx, path.Join(base, name)); err != nil && !notFound(err) {
				return err
			}
		}
	case strings.Contains(r.Staging, "://"):
		// Published to a staging store this gateway no longer has
		// (staging.url changed or removed): nothing here can delete it,
		// and it must not be recorded as deleted.
		return fmt.Errorf("%s was published to %s, which is not the staging store configured now: delete it there, or configure that store again", r.ID, r.Staging)
	case r.Staging != "":
		if err := removeTree(r.Staging); err != nil {
			return err
		}
	}
	if r.Outcome == OutcomeAccepted {
		if err := p.removeFile(ctx, r.Folder, encrypt.PayloadName(r.Name)); err != nil {
			return err
		}
	}
	fields := map[string]string{"outcome": r.Outcome}
	if deleted != "" {
		fields["deleted"] = deleted
	}
	if err := p.audit(Event{Action: "retention_delete", Folder: r.Folder, Bundle: r.ID, Fields: fields}); err != nil {
		return err
	}
	if err := p.cfg.Ledger.Purged(ctx, r.ID, p.cfg.Now().UTC()); err != nil {
		return err
	}
	p.log.Info("retention: bundle data deleted", "bundle", r.ID, "folder", r.Folder)
	return nil
}
