package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/siirto/siirto/gateway/accounts"
	"github.com/siirto/siirto/gateway/audit"
	"github.com/siirto/siirto/inbox"
)

// Gateway is an opened data folder: configuration, ledger, accounts and
// audit log. Admin commands use it as is; Serve adds the keys, the
// pipeline and the HTTP endpoints.
type Gateway struct {
	cfg      Config
	env      func(string) string
	log      *slog.Logger
	ledger   *inbox.SQLite
	accounts *accounts.Store
	audit    *audit.Log
	auditMu  sync.Mutex
}

// Open opens the data folder whose config file is at cfgPath. env reads
// environment variables (os.Getenv); log may be nil.
func Open(ctx context.Context, cfgPath string, env func(string) string, log *slog.Logger) (*Gateway, error) {
	cfg, err := LoadConfig(cfgPath, env)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{cfg: cfg, env: env, log: log}
	if err := os.MkdirAll(cfg.stateDir(), 0o700); err != nil {
		return nil, err
	}
	if g.ledger, err = inbox.OpenSQLite(ctx, filepath.Join(cfg.stateDir(), "ledger.db")); err != nil {
		return nil, err
	}
	if g.accounts, err = accounts.Open(ctx, filepath.Join(cfg.stateDir(), "accounts.db")); err != nil {
		g.Close()
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.auditPath()), 0o700); err != nil {
		g.Close()
		return nil, err
	}
	if g.audit, err = audit.Open(cfg.auditPath()); err != nil {
		g.Close()
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return g, nil
}

// Close releases the databases and the audit log.
func (g *Gateway) Close() error {
	var errs []error
	if g.ledger != nil {
		errs = append(errs, g.ledger.Close())
	}
	if g.accounts != nil {
		errs = append(errs, g.accounts.Close())
	}
	if g.audit != nil {
		errs = append(errs, g.audit.Close())
	}
	return errors.Join(errs...)
}

// Config returns the loaded configuration.
func (g *Gateway) Config() Config { return g.cfg }

// Ledger returns the bundle ledger.
func (g *Gateway) Ledger() inbox.Ledger { return g.ledger }

// Accounts returns the account store.
func (g *Gateway) Accounts() *accounts.Store { return g.accounts }

// Audit appends one entry to the audit log and records the new head in
// the ledger, so that `audit verify` also finds entries cut from the end.
func (g *Gateway) Audit(ctx context.Context, e audit.Entry) error {
	g.auditMu.Lock()
	defer g.auditMu.Unlock()
	out, err := g.audit.Append(e)
	if err != nil {
		g.log.Error("audit log: append failed", "action", e.Action, "err", err)
		return err
	}
	// "seq hash", the seq zero-padded so that the latest entry sorts last
	// whichever process records it first.
	return g.ledger.SetMetaMax(context.WithoutCancel(ctx), metaAuditHead, fmt.Sprintf("%020d %s", out.Seq, out.Hash))
}

const metaAuditHead = "audit_head"

// VerifyAudit checks the audit log's chain and that it ends where the
// ledger says it does. It returns the number of entries.
func (g *Gateway) VerifyAudit(ctx context.Context) (int64, error) {
	head, err := g.ledger.Meta(ctx, metaAuditHead)
	if err != nil {
		return 0, err
	}
	if _, h, ok := strings.Cut(head, " "); ok {
		head = h
	}
	f, err := os.Open(g.cfg.auditPath())
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return audit.Verify(f, head)
}

// AuditPath is the audit log file.
func (g *Gateway) AuditPath() string { return g.cfg.auditPath() }
