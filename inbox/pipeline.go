package inbox

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
)

// Journal is what the pipeline needs to know of a journal folder.
type Journal struct {
	// Senders, when not empty, are the only Crypt4GH writer keys accepted.
	Senders []encrypt.PublicKey
	// Channels are the notification channels for this journal's bundles
	// (each becomes an outbox item; see Deliverer).
	Channels []string
}

// Journals looks up journal folders. A folder it does not know is still
// processed (with any sender and the default channels): the journal
// number checks decide.
type Journals interface {
	Journal(ctx context.Context, folder string) (Journal, error)
}

// ErrPermanent marks a delivery that will never succeed (a refused
// address, a bad configuration): the outbox stops retrying it.
var ErrPermanent = errors.New("permanent failure")

// Deliverer sends one notification for a bundle over one channel. It
// must be idempotent for the receiver: the same (bundle id, state) may
// arrive twice after a crash.
type Deliverer interface {
	Deliver(ctx context.Context, channel string, r Record) error
}

// Event is one audited action of the pipeline.
type Event struct {
	Action string // "detected", "state", "decrypt", "notify", "receipt", "retention", …
	Folder string
	Bundle string // bundle id
	Fields map[string]string
}

// Observer is told what the pipeline finished, for metrics.
type Observer interface {
	// Processed: a bundle was staged (code "") or rejected (code set).
	Processed(code string, payloadBytes, plaintextBytes int64, took time.Duration)
	// Notified: a bundle's notifications all went out, latency after its detection.
	Notified(latency time.Duration)
}

// Config is everything a Pipeline needs. Paths are absolute.
type Config struct {
	// Store holds the journal folders: a WebDAV/Nextcloud folder or an S3
	// prefix (any clients.Store). Nil: the local folder Inbox.
	Store    Store
	Inbox    string // the journal folders, when Store is nil
	Staging  string // staging/<journal-folder>/<bundle-id>/
	Rejected string // rejected bundles' files, kept for inspection until retention
	// StageStore, when set, is where staged bundles go (an S3 prefix):
	// each is packed again, encrypted to StageRecipients, so it is
	// encrypted at rest, and the local copy in Staging is removed once
	// the ledger says staged. StageURL is its URL, for the ledger and notices.
	StageStore      clients.Store
	StageRecipients []encrypt.PublicKey
	StageURL        string

	Key        *encrypt.SecretKey // the gateway's Crypt4GH key
	ReceiptKey ed25519.PrivateKey // signs receipts
	Gateway    string             // instance name in receipts and notices

	Ledger   Ledger
	Journals Journals
	Deliver  Deliverer
	Audit    func(Event) error // required: an audit failure stops the step
	Observe  Observer          // may be nil
	Logger   *slog.Logger

	Limits      encrypt.Limits
	KeepPayload bool // keep accepted payloads in the inbox (else removed once receipted)
	// OrphanAfter: a payload without its manifest for this long is an
	// abandoned upload, rejected with E_MANIFEST_MISSING (default 24 h).
	OrphanAfter time.Duration
	Workers     int // bundles processed at once (default 2)
	Poll        time.Duration
	Lease       time.Duration
	// Retention after delivery, and for rejected bundles' files; 0 keeps them.
	Retention         time.Duration
	RejectedRetention time.Duration
	Worker            string // this process's name in claims
	// Exclusive says this pipeline is the only one on its ledger (the
	// embedded gateway holds its data folder's lock): claims left by a
	// crashed run are dropped at start instead of waiting for their lease.
	Exclusive bool
	Now       func() time.Time
	// Free reports free bytes at a path; nil uses encrypt.FreeSpace.
	Free func(path string) (int64, error)
}

// Pipeline watches the inbox and takes each complete bundle through the
// states. Run drives it; Poke wakes it early (the embedded WebDAV server
// pokes it when a manifest lands).
type Pipeline struct {
	cfg   Config
	log   *slog.Logger
	store Store
	local string        // the inbox folder when it is local: payloads open as files
	poke  chan struct{} // scan the inbox now
	kick  chan struct{} // a worker is free: hand out due bundles (no scan)
	out   chan struct{} // drain the outbox now

	mu    sync.Mutex
	busy  map[string]bool
	seen  map[string]seenFile
	ready bool
}

type seenFile struct {
	size  int64
	mtime time.Time
}

// New checks cfg and returns a pipeline.
func New(cfg Config) (*Pipeline, error) {
	switch {
	case (cfg.Inbox == "" && cfg.Store == nil) || cfg.Staging == "" || cfg.Rejected == "":
		return nil, errors.New("inbox: the inbox (a folder or a store), staging and rejected folders must be set")
	case cfg.Key == nil || cfg.ReceiptKey == nil:
		return nil, errors.New("inbox: the gateway key and receipt key must be set")
	case cfg.Ledger == nil || cfg.Audit == nil:
		return nil, errors.New("inbox: a ledger and an audit log are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.OrphanAfter <= 0 {
		cfg.OrphanAfter = 24 * time.Hour
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Worker == "" {
		h, _ := os.Hostname()
		cfg.Worker = fmt.Sprintf("%s/%d", h, os.Getpid())
	}
	if cfg.Free == nil {
		cfg.Free = encrypt.FreeSpace
	}
	for _, d := range []string{cfg.Staging, cfg.Rejected} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
	}
	store, local := cfg.Store, ""
	if store == nil {
		if err := os.MkdirAll(cfg.Inbox, 0o700); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		l, err := clients.NewLocal(cfg.Inbox)
		if err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		store, local = l, cfg.Inbox
	}
	return &Pipeline{
		cfg: cfg, log: cfg.Logger, store: store, local: local,
		poke: make(chan struct{}, 1), kick: make(chan struct{}, 1), out: make(chan struct{}, 1),
		busy: map[string]bool{}, seen: map[string]seenFile{},
	}, nil
}

// Poke asks the pipeline to look at the inbox now.
func (p *Pipeline) Poke() { signal(p.poke) }

func (p *Pipeline) pokeOutbox() { signal(p.out) }

// signal wakes whoever waits on c, once, without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Ready reports whether the pipeline has finished its first scan.
func (p *Pipeline) Ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready
}

// Run processes bundles until ctx ends: it scans, dispatches due bundles
// to workers, drains the outbox and applies retention. A cancelled run
// leaves every bundle in a state a restart continues from.
func (p *Pipeline) Run(ctx context.Context) error {
	if err := p.cleanStaging(); err != nil {
		return err
	}
	if p.cfg.Exclusive {
		if err := p.cfg.Ledger.ReleaseAll(ctx); err != nil {
			if ctx.Err() != nil {
				return nil // stopped while starting: not a failure
			}
			return err
		}
	}
	work := make(chan Record)
	var wg sync.WaitGroup
	for range p.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				p.process(ctx, r)
				p.mu.Lock()
				delete(p.busy, r.ID)
				p.mu.Unlock()
				p.pokeOutbox()
				signal(p.kick)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.drainLoop(ctx)
	}()

	tick := time.NewTicker(p.cfg.Poll)
	defer tick.Stop()
	retention := time.NewTicker(time.Minute)
	defer retention.Stop()
	p.retain(ctx)
	scan := true
	for {
		if scan {
			// Ready once the inbox could be read: a remote inbox that does
			// not answer keeps /readyz failing.
			err := p.Scan(ctx)
			if err != nil && ctx.Err() == nil {
				p.log.Error("inbox scan failed", "err", err)
			}
			p.mu.Lock()
			p.ready = p.ready || err == nil
			p.mu.Unlock()
		}
		p.dispatch(ctx, work)
		select {
		case <-ctx.Done():
			close(work)
			wg.Wait()
			return nil
		case <-tick.C:
			scan = true
		case <-p.poke:
			scan = true
		case <-p.kick:
			scan = false
		case <-retention.C:
			scan = false
			p.retain(ctx)
		}
	}
}

func (p *Pipeline) dispatch(ctx context.Context, work chan<- Record) {
	due, err := p.cfg.Ledger.Due(ctx, p.cfg.Now(), 4*p.cfg.Workers)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Error("ledger: listing due bundles failed", "err", err)
		}
		return
	}
	for _, r := range due {
		p.mu.Lock()
		if p.busy[r.ID] {
			p.mu.Unlock()
			continue
		}
		p.busy[r.ID] = true
		p.mu.Unlock()
		select {
		case work <- r:
		default:
			// Every worker is busy: a finished one pokes the loop again.
			p.mu.Lock()
			delete(p.busy, r.ID)
			p.mu.Unlock()
			return
		}
	}
}

// backoff is the wait before attempt n+1: exponential from one second,
// capped at ten minutes, with jitter so retries do not march in step.
func backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 10)
	d = min(d, 10*time.Minute)
	return d/2 + rand.N(d/2+1)
}

func (p *Pipeline) audit(e Event) error {
	if err := p.cfg.Audit(e); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// Once scans the inbox, processes every due bundle and drains the
// outbox, all in the calling goroutine, then returns: for tests and for
// running the pipeline from cron instead of as a service.
func (p *Pipeline) Once(ctx context.Context) error {
	if err := p.cleanStaging(); err != nil {
		return err
	}
	if err := p.Scan(ctx); err != nil {
		return err
	}
	// A bundle that fails for a reason of the gateway's own is retried
	// later, so it is not due again here and the loop ends.
	for range 1000 {
		due, err := p.cfg.Ledger.Due(ctx, p.cfg.Now(), 100)
		if err != nil {
			return err
		}
		if len(due) == 0 {
			break
		}
		for _, r := range due {
			p.process(ctx, r)
		}
	}
	// Items that failed are retried later, so they are not due again here.
	for range 1000 {
		if p.Drain(ctx) == 0 {
			break
		}
	}
	return ctx.Err()
}
