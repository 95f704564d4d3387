package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
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
	ledger   inbox.Ledger
	accounts *accounts.Store
	audit    *audit.Log
	auditMu  sync.Mutex
	// The audit head not yet recorded in the ledger. Recording it with
	// every entry would double the gateway's commits (and, on PostgreSQL,
	// put a round trip on every audited request): serve records it every
	// second, and Close at the end.
	headSeq  int64
	headHash string
}

// Open opens the data folder whose config file is at cfgPath. env reads
// environment variables (os.Getenv); log may be nil. The audit log is
// opened, its chain checked, to be continued: a damaged log stops here,
// before anything is changed that could not be audited.
func Open(ctx context.Context, cfgPath string, env func(string) string, log *slog.Logger) (*Gateway, error) {
	return open(ctx, cfgPath, env, log, true)
}

// OpenReadOnly opens the data folder as Open does, but not the audit log
// for writing: for commands that only read (lists, doctor, audit verify),
// which then work, and report, even when the audit log is damaged.
// Audit fails on a gateway opened this way.
func OpenReadOnly(ctx context.Context, cfgPath string, env func(string) string, log *slog.Logger) (*Gateway, error) {
	return open(ctx, cfgPath, env, log, false)
}

func open(ctx context.Context, cfgPath string, env func(string) string, log *slog.Logger, writeAudit bool) (*Gateway, error) {
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
	// With a PostgreSQL ledger the accounts live in the same database, so
	// that every worker (and every admin command) sees the same journals,
	// users and sender keys; otherwise both are SQLite files in state/.
	if cfg.LedgerURL != "" {
		dsn := cfg.LedgerURL
		if strings.HasPrefix(dsn, "file:") {
			if dsn, err = readSecret(cfg.path(strings.TrimPrefix(dsn, "file:"))); err != nil {
				return nil, fmt.Errorf("ledger_url: %w", err)
			}
		}
		if g.ledger, err = inbox.OpenPostgres(ctx, dsn); err != nil {
			return nil, err
		}
		if g.accounts, err = accounts.OpenPostgres(ctx, dsn); err != nil {
			g.Close()
			return nil, err
		}
	} else {
		if g.ledger, err = inbox.OpenSQLite(ctx, filepath.Join(cfg.stateDir(), "ledger.db")); err != nil {
			return nil, err
		}
		if g.accounts, err = accounts.Open(ctx, filepath.Join(cfg.stateDir(), "accounts.db")); err != nil {
			g.Close()
			return nil, err
		}
	}
	if !writeAudit {
		return g, nil
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
	if g.ledger != nil && g.audit != nil {
		errs = append(errs, g.FlushAuditHead(context.Background()))
	}
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

// Audit appends one entry to the audit log (synced to disk). The log's
// head reaches the ledger with FlushAuditHead (every second in serve, and
// at Close), so that `audit verify` also finds entries cut from the end,
// up to the last recorded one.
func (g *Gateway) Audit(ctx context.Context, e audit.Entry) error {
	g.auditMu.Lock()
	defer g.auditMu.Unlock()
	if g.audit == nil {
		return errors.New("audit log: this gateway was opened read-only")
	}
	out, err := g.audit.Append(e)
	if err != nil {
		g.log.Error("audit log: append failed", "action", e.Action, "err", err)
		return err
	}
	g.headSeq, g.headHash = out.Seq, out.Hash
	return nil
}

// FlushAuditHead records the audit log's head in the ledger now.
func (g *Gateway) FlushAuditHead(ctx context.Context) error {
	g.auditMu.Lock()
	defer g.auditMu.Unlock()
	return g.flushHeadLocked(ctx)
}

func (g *Gateway) flushHeadLocked(ctx context.Context) error {
	if g.headHash == "" {
		return nil
	}
	// "seq hash", the seq zero-padded so that the latest entry sorts last
	// whichever process records it first.
	err := g.ledger.SetMetaMax(context.WithoutCancel(ctx), g.cfg.auditHeadKey(), fmt.Sprintf("%020d %s", g.headSeq, g.headHash))
	if err == nil {
		g.headHash = ""
	}
	return err
}

// VerifyAudit checks the audit log's chain and that it reaches the entry
// the ledger recorded last. It returns the number of entries.
func (g *Gateway) VerifyAudit(ctx context.Context) (int64, error) {
	if err := g.FlushAuditHead(ctx); err != nil {
		return 0, err
	}
	head, err := g.ledger.Meta(ctx, g.cfg.auditHeadKey())
	if err != nil {
		return 0, err
	}
	f, err := os.Open(g.cfg.auditPath())
	if err != nil {
		return 0, err
	}
	defer f.Close()
	seqText, hash, ok := strings.Cut(head, " ")
	if !ok {
		return audit.Verify(f, "")
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("the ledger's audit head %q is unreadable", head)
	}
	return audit.VerifyReaches(f, seq, hash)
}

// AuditPath is the audit log file.
func (g *Gateway) AuditPath() string { return g.cfg.auditPath() }
