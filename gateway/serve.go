package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/gateway/accounts"
	"github.com/siirto/siirto/gateway/audit"
	"github.com/siirto/siirto/gateway/dav"
	"github.com/siirto/siirto/gateway/notify"
	"github.com/siirto/siirto/inbox"
)

// URLFile is written into the state folder by Serve: the base URL the
// gateway listens on (useful with listen = "127.0.0.1:0").
const URLFile = "url"

// server is one running Serve.
type server struct {
	g        *Gateway
	log      *slog.Logger
	keys     *keys
	metrics  *metrics
	pipeline *inbox.Pipeline
	mailer   *notify.Mailer
	webhook  *notify.Webhook
	token    string
	// eventsToken, when set, is what S3 event senders must present.
	eventsToken string
}

// Serve runs the gateway until ctx ends: the HTTP endpoints and the
// pipeline. ready, if not nil, is called with the base URL once the
// listener is open. Only one Serve may run per data folder.
func (g *Gateway) Serve(ctx context.Context, ready func(url string)) error {
	unlock, err := lockServe(filepath.Join(g.cfg.stateDir(), "serve.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	s := &server{g: g, log: g.log}
	if s.keys, err = g.cfg.loadKeys(g.env); err != nil {
		return err
	}
	if s.token, err = readSecret(g.cfg.path(g.cfg.StaffTokenFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("staff token: %w", err)
	}
	if err := s.notifiers(); err != nil {
		return err
	}
	s.metrics = newMetrics(g.ledger)
	store, err := g.inboxStore(ctx)
	if err != nil {
		return err
	}
	stage, stageTo, stageURL, err := g.stagingStore(ctx)
	if err != nil {
		return err
	}
	if g.cfg.Inbox.EventsTokenFile != "" {
		if s.eventsToken, err = readSecret(g.cfg.path(g.cfg.Inbox.EventsTokenFile)); err != nil {
			return fmt.Errorf("inbox events token: %w", err)
		}
	}
	limits := encrypt.Limits{MaxEntries: g.cfg.Limits.MaxEntries, MaxSize: g.cfg.Limits.MaxSize, MaxRatio: g.cfg.Limits.MaxRatio}
	s.pipeline, err = inbox.New(inbox.Config{
		Store: store, Inbox: g.cfg.inboxDir(), Staging: g.cfg.stagingDir(), Rejected: g.cfg.rejectedDir(),
		StageStore: stage, StageRecipients: stageTo, StageURL: stageURL,
		Key: &s.keys.crypt4gh, ReceiptKey: s.keys.receipt, Gateway: g.cfg.Name,
		Ledger: g.ledger, Journals: s, Deliver: s, Audit: s.auditEvent, Observe: s.metrics, Logger: g.log,
		// With the embedded ledger this process is the only worker (it
		// holds the data folder's lock); a shared PostgreSQL has others.
		Exclusive: g.cfg.LedgerURL == "" && serveLockHeld, Worker: g.cfg.Worker, Limits: limits, KeepPayload: g.cfg.KeepPayload, OrphanAfter: g.cfg.OrphanAfter.Duration, Workers: g.cfg.Workers, Poll: g.cfg.Poll.Duration, Lease: g.cfg.Lease.Duration,
		Retention:         time.Duration(g.cfg.RetentionDays) * 24 * time.Hour,
		RejectedRetention: time.Duration(g.cfg.RejectedRetentionDays) * 24 * time.Hour,
	})
	if err != nil {
		return err
	}
	d, err := dav.New(dav.Config{
		Root: g.cfg.inboxDir(), Uploads: g.cfg.uploadsDir(), Accounts: davAccounts{g.accounts}, Events: s, Logger: g.log,
		MaxFailures: g.cfg.Ban.MaxFailures, FailWindow: g.cfg.Ban.Window.Duration, BanFor: g.cfg.Ban.For.Duration,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/remote.php/dav/", d)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	s.api(mux)
	if g.cfg.Inbox.has(EventsWebhook) {
		mux.HandleFunc("POST "+eventsPath, s3Events(s.eventsToken, s.metrics.events.WithLabelValues(EventsWebhook).Inc, s.pipeline.Poke))
	}

	ln, err := net.Listen("tcp", g.cfg.Listen)
	if err != nil {
		return err
	}
	scheme := "http"
	if g.cfg.TLSCert != "" {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 15 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() {
		if g.cfg.TLSCert != "" {
			serveErr <- srv.ServeTLS(ln, g.cfg.path(g.cfg.TLSCert), g.cfg.path(g.cfg.TLSKey))
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()
	if err := os.WriteFile(filepath.Join(g.cfg.stateDir(), URLFile), []byte(url+"\n"), 0o600); err != nil {
		return err
	}
	if err := g.Audit(ctx, audit.Entry{Actor: "gateway", Action: "start", Fields: map[string]string{"url": url, "name": g.cfg.Name}}); err != nil {
		return err
	}
	g.log.Info("siirto-gateway is serving", "url", url, "data", g.cfg.dir, "key", s.keys.crypt4gh.Public().Fingerprint())
	if ready != nil {
		ready(url)
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if g.cfg.Inbox.has(EventsMinIO) {
		if err := s.listenMinIO(runCtx, store); err != nil {
			_ = srv.Close()
			return err
		}
	}
	var wg sync.WaitGroup
	runErr := make(chan error, 1)
	wg.Add(2)
	go func() {
		defer wg.Done()
		runErr <- s.pipeline.Run(runCtx)
	}()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Minute)
		defer tick.Stop()
		head := time.NewTicker(time.Second)
		defer head.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case now := <-tick.C:
				// A failed sweep leaves stale uploads behind; the next tick tries again.
				if err := d.Sweep(now); err != nil {
					g.log.Error("sweeping expired uploads failed", "err", err)
				}
			case <-head.C:
				if err := g.FlushAuditHead(runCtx); err != nil && runCtx.Err() == nil {
					g.log.Error("recording the audit head failed", "err", err)
				}
			}
		}
	}()
	// Stop on a signal, or when either half dies: uploads taken with no
	// pipeline behind them would wait unnoticed.
	var err2, err3 error
	select {
	case <-ctx.Done():
	case err2 = <-serveErr:
	case err3 = <-runErr:
		if err3 != nil {
			err3 = fmt.Errorf("the pipeline stopped: %w", err3)
		}
	}
	stop()
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	wg.Wait()
	select {
	case err := <-runErr: // not taken above
		err3 = err
	default:
	}
	_ = g.Audit(context.WithoutCancel(ctx), audit.Entry{Actor: "gateway", Action: "stop"})
	if errors.Is(err2, http.ErrServerClosed) {
		err2 = nil
	}
	return errors.Join(err2, err3)
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.pipeline.Ready() {
		http.Error(w, "starting: the first inbox scan is not done", http.StatusServiceUnavailable)
		return
	}
	if _, err := s.g.ledger.Counts(r.Context()); err != nil {
		http.Error(w, "the ledger does not answer", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// auditEvent writes a pipeline event to the audit log.
func (s *server) auditEvent(e inbox.Event) error {
	return s.g.Audit(context.Background(), audit.Entry{Actor: "gateway", Action: e.Action, Journal: e.Folder, Bundle: e.Bundle, Fields: e.Fields})
}

// Journal implements inbox.Journals from the account store.
func (s *server) Journal(ctx context.Context, folder string) (inbox.Journal, error) {
	var out inbox.Journal
	j, err := s.g.accounts.Journal(ctx, folder)
	if err != nil && !errors.Is(err, accounts.ErrNotFound) {
		return out, err
	}
	for _, k := range j.Senders {
		pk, err := encrypt.ParsePublicKeyString(k)
		if err != nil {
			return out, fmt.Errorf("journal %s: a registered sender key is unreadable: %w", folder, err)
		}
		out.Senders = append(out.Senders, pk)
	}
	// The log line is a channel of its own: it is always there, even on
	// embedded defaults with no mail server, and goes out with the others.
	out.Channels = append(out.Channels, "log")
	if s.mailer != nil && len(s.g.cfg.Handlers)+len(j.Handlers) > 0 {
		out.Channels = append(out.Channels, "email")
	}
	if s.webhook != nil {
		out.Channels = append(out.Channels, "webhook")
	}
	return out, nil
}

// Deliver implements inbox.Deliverer over SMTP and the webhook.
func (s *server) Deliver(ctx context.Context, channel string, r inbox.Record) error {
	n := notify.Notice{
		ID: r.ID, Journal: r.Journal, Folder: r.Folder, Bundle: r.Name, State: notify.StateStaged,
		PayloadSize: r.PayloadSize, PayloadSHA256: r.PayloadSHA256,
		PlaintextSize: r.PlaintextSize, PlaintextSHA256: r.PlaintextSHA256,
		Files: r.Files, StagingPath: r.Staging, Time: r.UpdatedAt, Gateway: s.g.cfg.Name,
	}
	if r.Outcome == inbox.OutcomeRejected {
		n.State, n.Code, n.StagingPath, n.Files = notify.StateRejected, r.Code, "", 0
	}
	if n.Journal == "" {
		n.Journal = r.Folder // a bundle rejected before its journal number was agreed
	}
	var err error
	switch channel {
	case "email":
		j, _ := s.g.accounts.Journal(ctx, r.Folder)
		lang := j.Lang
		if lang == "" {
			lang = s.g.cfg.Lang
		}
		to := append(append([]string(nil), s.g.cfg.Handlers...), j.Handlers...)
		err = s.mailer.Send(ctx, n, to, lang)
	case "webhook":
		err = s.webhook.Send(ctx, n)
	case "log":
	default:
		err = fmt.Errorf("%w: unknown channel %q", inbox.ErrPermanent, channel)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "notification", append(n.LogAttrs(), slog.String("channel", channel), slog.Bool("ok", err == nil))...)
	if errors.Is(err, notify.ErrPermanent) {
		return fmt.Errorf("%w: %v", inbox.ErrPermanent, err)
	}
	return err
}

func (s *server) notifiers() error {
	c := s.g.cfg
	if c.SMTP.Addr != "" {
		s.mailer = &notify.Mailer{Addr: c.SMTP.Addr, From: c.SMTP.From, Username: c.SMTP.Username, TLS: c.SMTP.TLS, Timeout: c.SMTP.Timeout.Duration}
		if c.SMTP.PasswordFile != "" {
			pw, err := readSecret(c.path(c.SMTP.PasswordFile))
			if err != nil {
				return fmt.Errorf("smtp password: %w", err)
			}
			s.mailer.Password = pw
		}
		if s.mailer.From == "" {
			s.mailer.From = "siirto-gateway <siirto@localhost>"
		}
	}
	if c.Webhook.URL != "" {
		s.webhook = &notify.Webhook{URL: c.Webhook.URL, Timeout: c.Webhook.Timeout.Duration}
		if c.Webhook.SecretFile != "" {
			secret, err := readSecret(c.path(c.Webhook.SecretFile))
			if err != nil {
				return fmt.Errorf("webhook secret: %w", err)
			}
			s.webhook.Secret = []byte(secret)
		}
	}
	return nil
}

// Stored implements dav.Events: audited, and a manifest wakes the pipeline.
func (s *server) Stored(user, addr, folder, name string, size int64) {
	s.metrics.uploads.Inc()
	s.metrics.uploadSize.Add(float64(size))
	_ = s.g.Audit(context.Background(), audit.Entry{Actor: "user:" + user, Action: "upload", Journal: folder,
		Fields: map[string]string{"name": name, "size": fmt.Sprint(size), "addr": addr}})
	if inbox.IsManifest(name) {
		s.pipeline.Poke()
	}
}

// LoginFailed implements dav.Events.
func (s *server) LoginFailed(addr, user string) {
	s.metrics.logins.Inc()
	_ = s.g.Audit(context.Background(), audit.Entry{Actor: addr, Action: "login_failed", Fields: map[string]string{"user": user}})
}

// Banned implements dav.Events.
func (s *server) Banned(addr string, until time.Time) {
	s.metrics.bans.Inc()
	s.log.Warn("address banned after repeated login failures", "addr", addr, "until", until)
	_ = s.g.Audit(context.Background(), audit.Entry{Actor: "gateway", Action: "ban", Fields: map[string]string{"addr": addr, "until": until.UTC().Format(time.RFC3339)}})
}

// Denied implements dav.Events.
func (s *server) Denied(user, addr, method, path, reason string) {
	_ = s.g.Audit(context.Background(), audit.Entry{Actor: "user:" + user, Action: "denied",
		Fields: map[string]string{"method": method, "path": path, "reason": reason, "addr": addr}})
}

// davAccounts adapts the account store to the WebDAV server.
type davAccounts struct{ a *accounts.Store }

func (d davAccounts) Authenticate(ctx context.Context, user, password string) error {
	return d.a.Authenticate(ctx, user, password)
}

func (d davAccounts) Folders(ctx context.Context, user string) ([]dav.Folder, error) {
	grants, err := d.a.Grants(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]dav.Folder, len(grants))
	for i, g := range grants {
		out[i] = dav.Folder{Name: g.Folder, Closed: g.Closed}
	}
	return out, nil
}

// staffOnly guards the staff API with the bearer token.
func (s *server) staffOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.token == "" || !bearer(r, s.token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="siirto-staff"`)
			http.Error(w, "a staff token is needed", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}
