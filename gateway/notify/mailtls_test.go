package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

var smtpServerInfo = smtp.ServerInfo{Name: "mail.example.fi", Auth: []string{"PLAIN"}}

// smtp-sink speaks no TLS, so the TLS paths meet this small server on
// 127.0.0.1: STARTTLS (or TLS from the start), then AUTH PLAIN only
// under TLS, as real submission servers do.
type tlsSMTP struct {
	addr string
	pool *x509.CertPool // trusts the server's certificate

	mu   sync.Mutex
	msgs []tlsMessage
	auth []string // AUTH PLAIN payloads, decoded
}

type tlsMessage struct {
	tls  bool
	data string
}

func startTLSSMTP(t *testing.T, implicit bool) *tlsSMTP {
	t.Helper()
	cert, pool := selfSigned(t)
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		l = tls.NewListener(l, conf)
	}
	s := &tlsSMTP{addr: l.Addr().String(), pool: pool}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(conn, conf, implicit) }()
		}
	}()
	return s
}

func (s *tlsSMTP) serve(conn net.Conn, conf *tls.Config, secure bool) {
	defer func() { conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	reply := func(lines ...string) {
		for i, l := range lines {
			sep := " "
			if i < len(lines)-1 {
				sep = "-"
			}
			_ = tp.PrintfLine("%s%s%s", l[:3], sep, l[3:])
		}
	}
	reply("220fake ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"250fake"}
			if secure {
				ext = append(ext, "250AUTH PLAIN")
			} else {
				ext = append(ext, "250STARTTLS")
			}
			reply(ext...)
		case "STARTTLS":
			reply("220go ahead")
			tc := tls.Server(conn, conf)
			if tc.Handshake() != nil {
				return
			}
			conn, tp, secure = tc, textproto.NewConn(tc), true
		case "AUTH":
			mech, payload, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(payload)
			if !secure || mech != "PLAIN" || err != nil {
				reply("535no")
				continue
			}
			s.mu.Lock()
			s.auth = append(s.auth, string(raw))
			s.mu.Unlock()
			reply("235ok")
		case "MAIL", "RCPT":
			reply("250ok")
		case "DATA":
			reply("354go on")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, tlsMessage{secure, string(data)})
			s.mu.Unlock()
			reply("250queued")
		case "QUIT":
			reply("221bye")
			return
		default:
			reply("502unknown")
		}
	}
}

func (s *tlsSMTP) got() ([]tlsMessage, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tlsMessage(nil), s.msgs...), append([]string(nil), s.auth...)
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test mail server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestSMTPTLS(t *testing.T) {
	n := stagedNotice("tls")
	for _, c := range []struct {
		name, mode string
		implicit   bool
	}{
		{"STARTTLS required", TLSStartTLS, false},
		{"STARTTLS when offered", TLSOpportunistic, false},
		{"implicit TLS", TLSImplicit, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startTLSSMTP(t, c.implicit)
			m := &Mailer{Addr: s.addr, From: "siirto@gw.example", Username: "gw", Password: "s3cret",
				TLS: c.mode, RootCAs: s.pool, Timeout: 10 * time.Second}
			if err := m.Send(context.Background(), n, handlers, "sv"); err != nil {
				t.Fatal(err)
			}
			msgs, auth := s.got()
			if len(msgs) != 1 || !msgs[0].tls || !strings.Contains(msgs[0].data, "Message-ID: <"+n.DeliveryID()+"@siirto>") {
				t.Fatalf("messages: %+v", msgs)
			}
			if len(auth) != 1 || auth[0] != "\x00gw\x00s3cret" {
				t.Fatalf("AUTH PLAIN payloads %q", auth)
			}
		})
	}
	// A certificate the gateway does not trust: no password, no message,
	// and a temporary error (the operator may fix the trust store).
	t.Run("untrusted certificate", func(t *testing.T) {
		s := startTLSSMTP(t, false)
		m := &Mailer{Addr: s.addr, From: "siirto@gw.example", Username: "gw", Password: "s3cret",
			TLS: TLSStartTLS, Timeout: 10 * time.Second}
		err := m.Send(context.Background(), n, handlers, "en")
		var unknown x509.UnknownAuthorityError
		if err == nil || errors.Is(err, ErrPermanent) || !errors.As(err, &unknown) {
			t.Fatalf("Send = %v, want a temporary unknown-authority error", err)
		}
		if msgs, auth := s.got(); len(msgs) != 0 || len(auth) != 0 {
			t.Fatalf("sent %d messages and %d passwords", len(msgs), len(auth))
		}
	})
}
