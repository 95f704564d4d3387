package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/siirto/siirto/clients"
)

// How a Mailer protects the connection (its TLS field).
const (
	TLSOpportunistic = ""         // STARTTLS when the server offers it
	TLSStartTLS      = "starttls" // STARTTLS, required
	TLSImplicit      = "tls"      // TLS from the first byte (port 465)
	TLSNone          = "none"     // plain text: only to a loopback address
)

// defaultTimeout bounds one delivery attempt when no Timeout is set.
const defaultTimeout = 30 * time.Second

// Mailer sends notices by SMTP: one message per Send, to every recipient
// in one transaction. The zero value is not usable: Addr, From and at
// least one recipient are needed.
type Mailer struct {
	Addr string // host:port of the mail server
	From string // the sender, such as "siirto <siirto@example.fi>"
	// Username and Password, when set, log in with AUTH PLAIN. The
	// password is only ever sent over TLS, or to a loopback address.
	Username, Password string
	// TLS is TLSOpportunistic, TLSStartTLS, TLSImplicit or TLSNone.
	TLS      string
	HELO     string         // the name given in EHLO; default the host name
	Timeout  time.Duration  // the limit of one Send; default 30 seconds
	RootCAs  *x509.CertPool // the roots that the server's certificate must chain to; nil: the system's
	Location *time.Location // the time zone of times in the body; nil: UTC
}

// Send makes one attempt to mail n to the addresses in to, in lang ("fi",
// "sv" or "en"; anything else is English). A resend of the same notice
// has the same Message-ID, <ID.STATE@siirto>. Every recipient must be
// accepted, or nothing is sent. A failure is an *Error: permanent
// (errors.Is(err, ErrPermanent)) for an invalid notice or configuration,
// a 5xx reply, or a server without the STARTTLS that TLSStartTLS demands;
// temporary for network and TLS failures and 4xx replies.
func (m *Mailer) Send(ctx context.Context, n Notice, to []string, lang string) error {
	if err := n.Validate(); err != nil {
		return permanent(err)
	}
	host, err := m.check()
	if err != nil {
		return permanent(err)
	}
	from, rcpts, err := addresses(m.From, to)
	if err != nil {
		return permanent(err)
	}
	msg := m.message(n, from, rcpts, lang)
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	envelope := make([]string, len(rcpts))
	for i, r := range rcpts {
		envelope[i] = r.Address
	}
	return m.deliver(ctx, host, from.Address, envelope, msg)
}

// check refuses a configuration that could not work or would be unsafe,
// before anything is sent, and returns the server's host name.
func (m *Mailer) check() (string, error) {
	host, port, err := net.SplitHostPort(m.Addr)
	if err != nil || host == "" || port == "" {
		return "", fmt.Errorf("smtp address %q is not host:port", m.Addr)
	}
	switch m.TLS {
	case TLSOpportunistic, TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !clients.IsLoopback(host) {
			return "", fmt.Errorf("smtp TLS %q is only allowed to a loopback address, not %s", m.TLS, host)
		}
	default:
		return "", fmt.Errorf("smtp TLS %q is none of starttls, tls, none or empty", m.TLS)
	}
	if m.Password != "" && m.Username == "" {
		return "", errors.New("smtp password without a user name")
	}
	if m.HELO != "" && (checkText(m.HELO) != nil || strings.ContainsAny(m.HELO, " <>")) {
		return "", fmt.Errorf("smtp HELO %q is not a host name", m.HELO)
	}
	return host, nil
}

// addresses parses the sender and the recipients. A CR or LF would let
// an address add headers of its own; net/mail refuses them too, but the
// check must not rest on a parser's details.
func addresses(from string, to []string) (*mail.Address, []*mail.Address, error) {
	parse := func(what, s string) (*mail.Address, error) {
		if err := checkText(s); err != nil {
			return nil, fmt.Errorf("%s address %w", what, err)
		}
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("%s address %q: %w", what, s, err)
		}
		return a, nil
	}
	f, err := parse("sender", from)
	if err != nil {
		return nil, nil, err
	}
	if len(to) == 0 {
		return nil, nil, errors.New("no recipients")
	}
	var rcpts []*mail.Address
	for _, s := range to {
		a, err := parse("recipient", s)
		if err != nil {
			return nil, nil, err
		}
		rcpts = append(rcpts, a)
	}
	return f, rcpts, nil
}

// message is the whole mail: headers, then the body in quoted-printable
// UTF-8. Every value in it has passed Validate or addresses, so none
// holds a CR or LF. Date is the notice's time, not the sending time, so
// that a resend is the same message.
func (m *Mailer) message(n Notice, from *mail.Address, to []*mail.Address, lang string) []byte {
	loc := m.Location
	if loc == nil {
		loc = time.UTC
	}
	subject, body := compose(n, lang, loc)
	var rcpts []string
	for _, a := range to {
		rcpts = append(rcpts, a.String())
	}
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", from.String())
	header("To", strings.Join(rcpts, ", "))
	// Long subjects become several encoded-words; one per line keeps
	// lines short, and readers join them without the space between.
	header("Subject", strings.ReplaceAll(mime.QEncoding.Encode("utf-8", subject), "?= =?", "?=\r\n =?"))
	header("Date", n.Time.Format(time.RFC1123Z))
	header("Message-ID", "<"+n.DeliveryID()+"@siirto>")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Content-Language", language(lang))
	// No out-of-office replies to a machine (RFC 3834).
	header("Auto-Submitted", "auto-generated")
	header("X-Siirto-Bundle", n.ID)
	header("X-Siirto-State", n.State)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(body)) // a bytes.Buffer does not fail
	_ = qp.Close()
	return b.Bytes()
}

// deliver runs one SMTP session.
func (m *Mailer) deliver(ctx context.Context, host, from string, to []string, msg []byte) error {
	fail := func(step string, err error) error { return smtpError(ctx, m.Addr, step, err) }
	c, done, err := m.session(ctx, host)
	if err != nil {
		return err
	}
	defer done()
	if err := c.Mail(from); err != nil {
		return fail("MAIL FROM", err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fail("RCPT TO "+r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fail("DATA", err)
	}
	if err := w.Close(); err != nil { // the server's reply to the final "."
		return fail("end of DATA", err)
	}
	// The message is accepted: a failed QUIT must not make the outbox
	// send it again.
	_ = c.Quit()
	return nil
}

// session connects and greets the server, with TLS and AUTH as
// configured; done closes it.
func (m *Mailer) session(ctx context.Context, host string) (c *smtp.Client, done func(), err error) {
	fail := func(step string, err error) error { return smtpError(ctx, m.Addr, step, err) }
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return nil, nil, fail("connect", err)
	}
	// The deadline bounds every read and write; a cancelled ctx moves it
	// to now, which ends a blocked one at once.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	tlsConf := &tls.Config{ServerName: host, RootCAs: m.RootCAs, MinVersion: tls.VersionTLS12}
	secure := false
	if m.TLS == TLSImplicit {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			stop()
			conn.Close()
			return nil, nil, fail("TLS", err)
		}
		conn, secure = tc, true
	}
	client, err := smtp.NewClient(conn, host) // closes conn on error
	if err != nil {
		stop()
		return nil, nil, fail("greeting", err)
	}
	c = client
	closeAll := func() { client.Close(); stop() }
	done = closeAll
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	if err := c.Hello(m.helo()); err != nil {
		return nil, nil, fail("EHLO", err)
	}
	if m.TLS == TLSOpportunistic || m.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return nil, nil, fail("STARTTLS", err)
			}
			secure = true
		} else if m.TLS == TLSStartTLS {
			return nil, nil, permanent(fmt.Errorf("smtp %s does not offer STARTTLS, which TLS %q requires", m.Addr, m.TLS))
		}
	}
	if m.Username != "" {
		if !secure && !clients.IsLoopback(host) {
			return nil, nil, permanent(fmt.Errorf("smtp %s: refusing to send a password without TLS", m.Addr))
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return nil, nil, permanent(fmt.Errorf("smtp %s does not offer AUTH, and a user name is set", m.Addr))
		}
		if err := c.Auth(plainAuth{m.Username, m.Password, secure || clients.IsLoopback(host)}); err != nil {
			return nil, nil, fail("AUTH", err)
		}
	}
	return c, done, nil
}

// Probe connects, greets, and does STARTTLS and AUTH as configured, then
// quits without sending anything: for `siirto-gateway doctor`.
func (m *Mailer) Probe(ctx context.Context) error {
	host, err := m.check()
	if err != nil {
		return permanent(err)
	}
	if m.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.Timeout)
		defer cancel()
	}
	c, done, err := m.session(ctx, host)
	if err != nil {
		return err
	}
	defer done()
	return c.Quit()
}

// smtpError classifies err from step: a 5xx reply is permanent, a 4xx
// reply or anything else temporary. When ctx ended, err also matches
// ctx's error.
func smtpError(ctx context.Context, addr, step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &Error{Permanent: te.Code >= 500, Status: te.Code, Err: fmt.Errorf("smtp %s %s: %w", addr, step, err)}
	}
	cerr := ctx.Err()
	// The connection's deadline is ctx's, and may fire a moment before
	// ctx's own timer does.
	if dl, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return temporary(fmt.Errorf("smtp %s %s: %w: %w", addr, step, cerr, err))
	}
	return temporary(fmt.Errorf("smtp %s %s: %w", addr, step, err))
}

func (m *Mailer) helo() string {
	if m.HELO != "" {
		return m.HELO
	}
	if h, err := os.Hostname(); err == nil && h != "" && checkText(h) == nil && !strings.ContainsAny(h, " <>") {
		return h
	}
	return "localhost"
}

// plainAuth is AUTH PLAIN that refuses, once more, to send a password in
// the clear unless allowed (the server is on a loopback address).
// net/smtp's PlainAuth would allow only the names localhost, 127.0.0.1
// and ::1, not every loopback address.
type plainAuth struct {
	user, pass string
	allowed    bool
}

func (a plainAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if !s.TLS && !a.allowed {
		return "", nil, errors.New("refusing to send a password without TLS")
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected challenge to AUTH PLAIN")
	}
	return nil, nil
}
