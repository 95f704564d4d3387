// Package app is siirto's desktop app: a small web app served on the
// loopback interface to the user's own browser. It connects to the
// journal folder, shows the journal number for the user to confirm, and
// packs, encrypts and uploads the files the browser streams to it in one
// pass, through the same code as siirto send; then it waits for the
// authority's receipt and guides the clean-up.
//
// The server trusts no one but the window it opened: it listens on
// loopback only, every request must carry the random token of the URL it
// printed (as a cookie after the first page), and the Host and Origin
// headers must name the server itself, which stops DNS rebinding and
// cross-site requests.
package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Config configures the app. Transport is required.
type Config struct {
	// Addr is the address to listen on (default 127.0.0.1:0, a free
	// port). Anything but a loopback address is refused.
	Addr string
	// Transport does the work: connecting, sending, receipts.
	Transport Transport
	// Targets are the configured transfer services to pick from.
	Targets []Target
	// Lang is the language when the browser prefers none of fi, sv, en.
	Lang string
	// OutDir is the default folder of the "encrypt only" mode.
	OutDir string
	// SpoolDir keeps the encrypted copy of each bundle being sent, so a
	// broken upload resumes without encrypting again.
	SpoolDir string
	// IdleTimeout stops the app when no request came for this long
	// (default 30 minutes).
	IdleTimeout time.Duration
	// WindowGrace stops the app this long after the last window stopped
	// calling in, unless a bundle is still being sent (default 20 s).
	WindowGrace time.Duration
	// ReceiptPoll is how often the journal folder is read for a receipt
	// (default 2 s).
	ReceiptPoll time.Duration
	// Logger receives the app's log; it never sees passwords, tokens or
	// file contents.
	Logger *slog.Logger
}

// Server is a running app.
type Server struct {
	cfg   Config
	ln    net.Listener
	token string
	hosts map[string]bool // Host headers that name this server
	base  string          // http://127.0.0.1:PORT

	mu       sync.Mutex
	ctx      context.Context // Serve's, which jobs outlive requests in
	lastSeen time.Time       // the last request other than a heartbeat
	lastPing time.Time       // the last heartbeat of an open window
	sessions map[string]*session
	jobs     map[string]*job
}

// ErrNotLoopback is returned by Listen for an address other machines
// could reach.
var ErrNotLoopback = errors.New("app: the app listens only on a loopback address (127.0.0.1 or ::1)")

// Listen binds the app's port. It refuses any address but loopback: the
// app holds the user's password and plaintext files, and the token is
// its only lock.
func Listen(cfg Config) (*Server, error) {
	if cfg.Transport == nil {
		return nil, errors.New("app: no transport")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		// A name, even "localhost", could resolve to anything.
		return nil, fmt.Errorf("%w, not %q", ErrNotLoopback, host)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.WindowGrace <= 0 {
		cfg.WindowGrace = 20 * time.Second
	}
	if cfg.ReceiptPoll <= 0 {
		cfg.ReceiptPoll = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 24)
	rand.Read(b)
	token := hex.EncodeToString(b)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() {
		ln.Close()
		return nil, ErrNotLoopback
	}
	port := strconv.Itoa(addr.Port)
	s := &Server{cfg: cfg, ln: ln, token: token, sessions: map[string]*session{}, jobs: map[string]*job{},
		base: "http://" + net.JoinHostPort(addr.IP.String(), port), lastSeen: time.Now()}
	s.hosts = map[string]bool{net.JoinHostPort(addr.IP.String(), port): true, "localhost:" + port: true}
	return s, nil
}

// URL is the address to open in the browser, token included.
func (s *Server) URL() string { return s.base + "/?token=" + url.QueryEscape(s.token) }

// Serve answers requests until ctx ends, the window has been closed for
// WindowGrace, or nothing has happened for IdleTimeout. Running sends are
// cancelled on the way out.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	tick := time.NewTicker(min(time.Second, s.cfg.WindowGrace/4))
	defer tick.Stop()
	var reason string
loop:
	for {
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			reason = "interrupted"
			break loop
		case now := <-tick.C:
			if r := s.idle(now); r != "" {
				reason = r
				break loop
			}
		}
	}
	s.cfg.Logger.Info("app stopping", "reason", reason)
	s.cancelJobs()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	return nil
}

// idle says why the app should stop now, or "".
func (s *Server) idle(now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.busy() {
			return ""
		}
	}
	switch {
	case !s.lastPing.IsZero() && now.Sub(s.lastPing) > s.cfg.WindowGrace:
		return "window closed"
	case now.Sub(s.lastSeen) > s.cfg.IdleTimeout:
		return "idle"
	}
	return ""
}

// handler is the app's HTTP handler, every route behind the guard.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	return s.guard(mux)
}

// cookieName is per port: cookies are shared by every port of a host.
func (s *Server) cookieName() string {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	return "siirto-app-" + port
}

// guard lets through only requests from the window the app opened.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		if !s.hosts[r.Host] {
			// DNS rebinding: a page of evil.example whose name now
			// resolves to 127.0.0.1 still sends Host: evil.example.
			forbid(w, "wrong Host")
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			forbid(w, "cross-origin request")
			return
		}
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			forbid(w, "cross-site request")
			return
		}
		if t := r.URL.Query().Get("token"); t != "" && s.tokenOK(t) && r.Method == http.MethodGet {
			// The token moves from the URL into a cookie that scripts
			// cannot read, and the URL loses it (history, screenshots).
			http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: s.token, Path: "/",
				HttpOnly: true, SameSite: http.SameSiteStrictMode})
			q := r.URL.Query()
			q.Del("token")
			u := *r.URL
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		c, err := r.Cookie(s.cookieName())
		if err != nil || !s.tokenOK(c.Value) {
			forbid(w, "no token: open the address siirto app printed")
			return
		}
		// The window's heartbeat is no use of the app: an open, unused
		// window must not keep the app from its idle timeout.
		if r.URL.Path != "/api/ping" {
			s.mu.Lock()
			s.lastSeen = time.Now()
			s.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) tokenOK(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.token)) == 1
}

func forbid(w http.ResponseWriter, why string) {
	http.Error(w, "403 forbidden: "+why, http.StatusForbidden)
}

// randomID names sessions and jobs.
func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
