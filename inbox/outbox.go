package inbox

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// maxDeliveries bounds retries of one outbox item (about five days at the
// ten-minute cap); after that, or on a permanent failure, it is given up
// loudly: logged, audited and counted, so staff can act.
const maxDeliveries = 720

// drainBatch is how many outbox items one Drain takes (and holds for
// OutboxLease): small enough that even at the mail and webhook timeouts
// a batch ends well inside its hold, so no other worker takes it over.
const drainBatch = 8

// retryDelay is the wait before a failed delivery's next attempt: the
// backoff, or longer if the receiver asked for it (an error with a Wait
// method, such as a webhook's Retry-After), at most an hour.
func retryDelay(attempts int, err error) time.Duration {
	d := backoff(attempts)
	var w interface{ Wait() time.Duration }
	if errors.As(err, &w) && w.Wait() > d {
		d = min(w.Wait(), time.Hour)
	}
	return d
}

func (p *Pipeline) drainLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		// A full batch means more may be due: go on at once.
		for p.Drain(ctx) == drainBatch {
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-p.out:
		}
	}
}

// Drain performs the outbox items that are due (notifications and
// receipts), at most a batch of them, and says how many it tried.
func (p *Pipeline) Drain(ctx context.Context) int {
	items, err := p.cfg.Ledger.OutboxDue(ctx, p.cfg.Now(), drainBatch)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Error("ledger: reading the outbox failed", "err", err)
		}
		return 0
	}
	for i, it := range items {
		if ctx.Err() != nil {
			return i
		}
		p.deliver(ctx, it)
	}
	return len(items)
}

func (p *Pipeline) deliver(ctx context.Context, it OutboxItem) {
	log := p.log.With("bundle", it.BundleID, "kind", it.Kind)
	r, err := p.cfg.Ledger.Get(ctx, it.BundleID)
	if err != nil {
		log.Error("ledger: reading a bundle failed", "err", err)
		return
	}
	switch {
	case it.Kind == KindReceipt:
		err = p.writeReceipt(ctx, r)
	case p.cfg.Deliver != nil:
		err = p.cfg.Deliver.Deliver(ctx, it.Kind, r)
	}
	if err != nil && ctx.Err() != nil {
		return
	}
	fields := map[string]string{"kind": it.Kind, "state": string(it.State)}
	action := "notify"
	if it.Kind == KindReceipt {
		action = "receipt"
	}
	if err != nil {
		if !errors.Is(err, ErrPermanent) && it.Attempts+1 < maxDeliveries {
			next := p.cfg.Now().Add(retryDelay(it.Attempts, err))
			log.Warn("delivery failed; it will be retried", "err", err, "attempt", it.Attempts+1, "retry_at", next)
			if err := p.cfg.Ledger.OutboxRetry(ctx, it, err.Error(), next); err != nil {
				log.Error("ledger: recording a retry failed", "err", err)
			}
			return
		}
		log.Error("delivery given up", "err", err, "attempts", it.Attempts+1)
		action += "_failed"
		fields["error"] = err.Error()
	}
	if err := p.audit(Event{Action: action, Folder: r.Folder, Bundle: r.ID, Fields: fields}); err != nil {
		log.Error("audit failed", "err", err)
		return
	}
	passed, err := p.cfg.Ledger.OutboxDone(ctx, it, p.cfg.Now().UTC())
	if err != nil {
		log.Error("ledger: marking a delivery done failed", "err", err)
		return
	}
	for _, s := range passed {
		r.State = s
		if err := p.auditState(r, nil); err != nil {
			log.Error("audit failed", "err", err)
		}
		if s == StateNotified && p.cfg.Observe != nil {
			p.cfg.Observe.Notified(p.cfg.Now().Sub(r.DetectedAt))
		}
	}
	log.Info(fmt.Sprintf("%s done", action))
}
