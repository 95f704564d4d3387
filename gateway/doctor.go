package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// Check is one finding of Doctor.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "ok", "warn" or "fail"
	Detail string `json:"detail"`
}

// Check statuses.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Doctor checks what the gateway needs to run: the data folder and its
// permissions, the keys and their passphrase, the databases, the audit
// log, the remote inbox and staging store, free space, the TLS
// certificate, the mail server and webhook, and the clock. It changes nothing and sends nothing.
func (g *Gateway) Doctor(ctx context.Context) []Check {
	var out []Check
	add := func(name, status, format string, args ...any) {
		out = append(out, Check{Name: name, Status: status, Detail: fmt.Sprintf(format, args...)})
	}
	c := g.cfg

	// The data folder: private, because staging holds plaintext.
	bad := ""
	for _, d := range []string{c.dir, c.keysDir(), c.inboxDir(), c.stagingDir(), c.stateDir(), filepath.Dir(c.auditPath())} {
		info, err := os.Stat(d)
		switch {
		case err != nil:
			bad += fmt.Sprintf(" %s: %v;", d, err)
		case info.Mode().Perm()&0o077 != 0:
			bad += fmt.Sprintf(" %s is %v (others can enter);", d, info.Mode().Perm())
		}
	}
	if bad != "" {
		add("data folder", CheckFail, "%s chmod 700 them", bad)
	} else {
		add("data folder", CheckOK, "%s, private (0700)", c.dir)
	}

	// Keys.
	k, err := c.loadKeys(g.env)
	if err != nil {
		add("keys", CheckFail, "%v", err)
	} else {
		pub, err := verify.ParseReceiptKey(k.receiptPub)
		if err != nil || !pub.Equal(k.receipt.Public().(ed25519.PublicKey)) {
			add("keys", CheckFail, "%s does not match %s", ReceiptPubKey, ReceiptSec)
		} else {
			add("keys", CheckOK, "Crypt4GH key %s opens; the receipt key matches its public half", k.crypt4gh.Public().Fingerprint())
		}
		stale := 0
		if js, err := g.accounts.Journals(ctx); err == nil {
			for _, j := range js {
				got, err := os.ReadFile(filepath.Join(c.inboxDir(), j.Folder, ReceiptPubKey))
				if err != nil || !bytes.Equal(got, k.receiptPub) {
					stale++
				}
			}
			if stale > 0 {
				add("journal folders", CheckWarn, "%d of %d journal folders lack the current %s: uploaders cannot check receipts there", stale, len(js), ReceiptPubKey)
			} else {
				add("journal folders", CheckOK, "%d journals, each with journal_number.txt and the receipt key", len(js))
			}
		}
	}

	// Databases and the audit log.
	if counts, err := g.ledger.Counts(ctx); err != nil {
		add("ledger", CheckFail, "%v", err)
	} else {
		n := 0
		for _, v := range counts {
			n += v
		}
		add("ledger", CheckOK, "%d bundles", n)
	}
	if n, err := g.VerifyAudit(ctx); err != nil {
		add("audit log", CheckFail, "%v", err)
	} else {
		add("audit log", CheckOK, "%d entries, chain intact", n)
	}

	// The remote inbox and the staging store answer, and can be listed.
	if c.Inbox.URL != "" {
		if store, err := g.inboxStore(ctx); err != nil {
			add("inbox", CheckFail, "%v", err)
		} else if list, err := store.List(ctx, ""); err != nil {
			add("inbox", CheckFail, "%s: %v", c.Inbox.URL, err)
		} else {
			add("inbox", CheckOK, "%s answers: %d journal folders", c.Inbox.URL, len(list))
		}
	}
	if c.Staging.URL != "" {
		if store, to, url, err := g.stagingStore(ctx); err != nil {
			add("staging store", CheckFail, "%v", err)
		} else if _, err := store.List(ctx, ""); err != nil {
			add("staging store", CheckFail, "%s: %v", url, err)
		} else {
			add("staging store", CheckOK, "%s answers; bundles are encrypted to %d handler key(s)", url, len(to))
		}
	}

	// Space in staging.
	if free, err := encrypt.FreeSpace(c.stagingDir()); err == nil {
		status := CheckOK
		if free < 10<<30 {
			status = CheckWarn
		}
		add("staging space", status, "%.1f GiB free in %s", float64(free)/(1<<30), c.stagingDir())
	}

	// TLS.
	if c.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(c.path(c.TLSCert), c.path(c.TLSKey))
		if err != nil {
			add("tls", CheckFail, "%v", err)
		} else if leaf := pair.Leaf; leaf == nil { // LoadX509KeyPair parses it already
			add("tls", CheckFail, "%s holds no certificate that can be read", c.TLSCert)
		} else {
			left := time.Until(leaf.NotAfter)
			switch {
			case left < 0:
				add("tls", CheckFail, "the certificate expired on %s", leaf.NotAfter.Format(time.DateOnly))
			case left < 30*24*time.Hour:
				add("tls", CheckWarn, "the certificate expires on %s", leaf.NotAfter.Format(time.DateOnly))
			default:
				add("tls", CheckOK, "certificate for %v valid until %s", leaf.DNSNames, leaf.NotAfter.Format(time.DateOnly))
			}
		}
	} else {
		add("tls", CheckOK, "none: plain HTTP on loopback %s (set tls_cert and tls_key before exposing it)", c.Listen)
	}

	// Notifications.
	s := &server{g: g}
	if err := s.notifiers(); err != nil {
		add("notifications", CheckFail, "%v", err)
	} else {
		if s.mailer != nil {
			pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			err := s.mailer.Probe(pctx)
			cancel()
			if err != nil {
				add("smtp", CheckFail, "%v", err)
			} else {
				add("smtp", CheckOK, "%s answers (EHLO, TLS and AUTH as configured); handlers: %v", c.SMTP.Addr, c.Handlers)
			}
		} else {
			add("smtp", CheckWarn, "no smtp.addr: handlers are told only by the log line%s", map[bool]string{true: " and the webhook", false: ""}[s.webhook != nil])
		}
		if s.webhook != nil {
			add("webhook", webhookReachable(ctx, c.Webhook.URL), "%s", c.Webhook.URL)
		}
	}

	// The clock: receipts, audit entries and retention trust it.
	status, detail := clockStatus()
	add("clock", status, "%s", detail)
	return out
}

// webhookReachable is a TCP connect to the webhook's host: sending a
// request would deliver something.
func webhookReachable(ctx context.Context, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return CheckFail
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return CheckFail
	}
	conn.Close()
	return CheckOK
}
