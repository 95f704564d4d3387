package notify

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siirto/siirto/internal/testserver"
	"github.com/siirto/siirto/verify"
)

var handlers = []string{"kasittelija@findata.example", "Handler Two <two@findata.example>"}

func sinkMailer(s *testserver.Sink) *Mailer {
	return &Mailer{Addr: s.Addr, From: "siirto <siirto@gw.example>", TLS: TLSNone, HELO: "gw.example", Timeout: 10 * time.Second}
}

// Staged and rejected notices in each language, through a real SMTP server.
func TestSMTPNotices(t *testing.T) {
	s := testserver.SMTPSink(t)
	m := sinkMailer(s)
	type sent struct {
		n    Notice
		lang string
	}
	var all []sent
	for _, lang := range append(langs, "de") {
		for _, n := range []Notice{stagedNotice(lang), rejectedNotice(lang)} {
			if err := m.Send(context.Background(), n, handlers, lang); err != nil {
				t.Fatalf("%s %s: %v", lang, n.State, err)
			}
			all = append(all, sent{n, lang})
		}
	}
	msgs := s.WaitMessages(t, len(all))
	if len(msgs) != len(all) {
		t.Fatalf("%d messages, want %d", len(msgs), len(all))
	}
	byID := map[string]testserver.Message{}
	for _, msg := range msgs {
		byID[msg.Header.Get("X-Siirto-Bundle")+"."+msg.Header.Get("X-Siirto-State")] = msg
	}
	for _, c := range all {
		n, lang := c.n, c.lang
		msg, ok := byID[n.DeliveryID()]
		if !ok {
			t.Errorf("%s %s: no message with X-Siirto-Bundle %s", lang, n.State, n.ID)
			continue
		}
		name := lang + " " + n.State
		h := msg.Header
		if msg.From != "siirto@gw.example" || !slices.Equal(msg.To, []string{"kasittelija@findata.example", "two@findata.example"}) {
			t.Errorf("%s: envelope from %q to %q", name, msg.From, msg.To)
		}
		if got := h.Get("Message-Id"); got != "<"+n.ID+"."+n.State+"@siirto>" {
			t.Errorf("%s: Message-ID %q", name, got)
		}
		if h.Get("X-Siirto-State") != n.State || h.Get("Auto-Submitted") != "auto-generated" ||
			h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("Mime-Version") != "1.0" {
			t.Errorf("%s: headers %v", name, h)
		}
		if date, err := h.Date(); err != nil || !date.Equal(n.Time) {
			t.Errorf("%s: Date %q: %v", name, h.Get("Date"), err)
		}
		if to, err := h.AddressList("To"); err != nil || len(to) != 2 || to[1].Name != "Handler Two" {
			t.Errorf("%s: To %q: %v", name, h.Get("To"), err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
		if err != nil {
			t.Errorf("%s: Subject %q: %v", name, h.Get("Subject"), err)
		}
		subj, state := texts.SubjectStaged, texts.Staged
		if n.State == StateRejected {
			subj, state = texts.SubjectRejected, texts.Rejected
		}
		if want := fmt.Sprintf(subj.In(lang), "THL/1234/14.02.00/2023"); subject != want {
			t.Errorf("%s: Subject %q, want %q", name, subject, want)
		}
		// Mail systems must see the exact body compose made, and it names
		// what handlers need, in their language.
		if _, want := compose(n, lang, time.UTC); msg.Body != want {
			t.Errorf("%s: body\n%s\nwant\n%s", name, msg.Body, want)
		}
		body := msg.Body
		for _, want := range []string{"THL/1234/14.02.00/2023", n.Bundle, n.ID, n.PayloadSHA256, "1610678272", state.In(lang)} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: body lacks %q:\n%s", name, want, body)
			}
		}
		info := verify.Lookup(verify.CodeTampered)
		if n.State == StateStaged {
			for _, want := range []string{n.PlaintextSHA256, n.StagingPath, "1610612736"} {
				if !strings.Contains(body, want) {
					t.Errorf("%s: body lacks %q", name, want)
				}
			}
			if strings.Contains(body, "E_") {
				t.Errorf("%s: a staged body names an error code:\n%s", name, body)
			}
		} else {
			for _, want := range []string{"E_TAMPERED", info.Title.In(lang), info.Advice.In(lang)} {
				if !strings.Contains(body, want) {
					t.Errorf("%s: body lacks %q:\n%s", name, want, body)
				}
			}
			if strings.Contains(body, "/srv/") {
				t.Errorf("%s: a rejected body names a staging path", name)
			}
		}
		if lang == "fi" && !strings.Contains(body, "Diaarinumero:") || lang == "sv" && !strings.Contains(body, "Diarienummer:") ||
			(lang == "en" || lang == "de") && !strings.Contains(body, "Journal number:") {
			t.Errorf("%s: body not in its language:\n%s", name, body)
		}
	}
}

// A resend of the same notice is the same message, so mail systems and
// handlers can drop the repeat.
func TestSMTPResendSameMessageID(t *testing.T) {
	s := testserver.SMTPSink(t)
	m := sinkMailer(s)
	n := stagedNotice("resend")
	for range 2 {
		if err := m.Send(context.Background(), n, handlers[:1], "fi"); err != nil {
			t.Fatal(err)
		}
	}
	msgs := s.WaitMessages(t, 2)
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	a, b := msgs[0], msgs[1]
	if a.Header.Get("Message-Id") != b.Header.Get("Message-Id") || a.Header.Get("Date") != b.Header.Get("Date") || a.Body != b.Body {
		t.Errorf("the resend differs: %v / %v", a.Header, b.Header)
	}
}

// CR or LF anywhere a header is made from refuses the notice before
// connecting: nothing is sent.
func TestSMTPHeaderInjection(t *testing.T) {
	s := testserver.SMTPSink(t)
	m := sinkMailer(s)
	cases := map[string]func(*Mailer, *Notice) []string{
		"journal": func(_ *Mailer, n *Notice) []string { n.Journal = "THL/1\r\nBcc: spy@evil.example"; return handlers },
		"bundle":  func(_ *Mailer, n *Notice) []string { n.Bundle = "cohort\nBcc: spy@evil.example"; return handlers },
		"folder":  func(_ *Mailer, n *Notice) []string { n.Folder = "x\r\nSubject: hi"; return handlers },
		"gateway": func(_ *Mailer, n *Notice) []string { n.Gateway = "gw\rBcc: spy@evil.example"; return handlers },
		"from": func(m *Mailer, _ *Notice) []string {
			m.From = "siirto@gw.example\r\nBcc: spy@evil.example"
			return handlers
		},
		"to":   func(_ *Mailer, _ *Notice) []string { return []string{"a@findata.example\r\nBcc: spy@evil.example"} },
		"HELO": func(m *Mailer, _ *Notice) []string { m.HELO = "gw\r\nRSET"; return handlers },
		"none": func(_ *Mailer, _ *Notice) []string { return nil },
	}
	for name, change := range cases {
		mm, n := *m, rejectedNotice("inject")
		to := change(&mm, &n)
		err := mm.Send(context.Background(), n, to, "en")
		if !errors.Is(err, ErrPermanent) {
			t.Errorf("%s: Send = %v, want a permanent error", name, err)
		}
	}
	// A proof that the sink works, and that the refusals sent nothing.
	if err := m.Send(context.Background(), rejectedNotice("ok"), handlers, "en"); err != nil {
		t.Fatal(err)
	}
	if msgs := s.WaitMessages(t, 1); len(msgs) != 1 || strings.Contains(string(msgs[0].Raw), "evil") {
		t.Fatalf("%d messages were sent", len(msgs))
	}
}

// Replies are classified: 5xx is permanent, 4xx temporary, a silent
// server a temporary timeout.
func TestSMTPFailures(t *testing.T) {
	n := stagedNotice("fail")
	t.Run("5xx to RCPT", func(t *testing.T) {
		s := testserver.SMTPSink(t, "-f", "RCPT")
		err := sinkMailer(s).Send(context.Background(), n, handlers, "en")
		var e *Error
		if !errors.Is(err, ErrPermanent) || !errors.As(err, &e) || e.Status/100 != 5 {
			t.Fatalf("Send = %v, want permanent with a 5xx status", err)
		}
		if msgs := s.Messages(t); len(msgs) != 0 {
			t.Errorf("%d messages kept after a refused recipient", len(msgs))
		}
	})
	t.Run("4xx to MAIL", func(t *testing.T) {
		s := testserver.SMTPSink(t, "-r", "MAIL")
		err := sinkMailer(s).Send(context.Background(), n, handlers, "en")
		var e *Error
		if err == nil || errors.Is(err, ErrPermanent) || !errors.As(err, &e) || e.Status/100 != 4 {
			t.Fatalf("Send = %v, want temporary with a 4xx status", err)
		}
	})
	t.Run("slow DATA", func(t *testing.T) {
		s := testserver.SMTPSink(t, "-w", "5")
		m := sinkMailer(s)
		m.Timeout = 300 * time.Millisecond
		start := time.Now()
		err := m.Send(context.Background(), n, handlers, "en")
		if err == nil || errors.Is(err, ErrPermanent) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want a temporary deadline error", err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("Send took %v despite a 300ms timeout", took)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		s := testserver.SMTPSink(t, "-w", "5")
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		err := sinkMailer(s).Send(ctx, n, handlers, "en")
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrPermanent) {
			t.Fatalf("Send = %v, want a temporary cancellation", err)
		}
	})
	t.Run("nobody listening", func(t *testing.T) {
		m := &Mailer{Addr: "127.0.0.1:1", From: "siirto@gw.example", TLS: TLSNone}
		if err := m.Send(context.Background(), n, handlers, "en"); err == nil || errors.Is(err, ErrPermanent) {
			t.Fatalf("Send = %v, want a temporary error", err)
		}
	})
	t.Run("STARTTLS required, not offered", func(t *testing.T) {
		s := testserver.SMTPSink(t)
		m := sinkMailer(s)
		m.TLS = TLSStartTLS
		if err := m.Send(context.Background(), n, handlers, "en"); !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("Send = %v, want a permanent STARTTLS error", err)
		}
		if msgs := s.Messages(t); len(msgs) != 0 {
			t.Errorf("%d messages sent without the TLS that was required", len(msgs))
		}
	})
}

// Configurations that could not work or would be unsafe are refused
// before connecting.
func TestSMTPConfig(t *testing.T) {
	n := stagedNotice("config")
	for name, m := range map[string]Mailer{
		"plain text to another host": {Addr: "mail.example.fi:25", From: "a@gw.example", TLS: TLSNone},
		"unknown TLS mode":           {Addr: "127.0.0.1:25", From: "a@gw.example", TLS: "maybe"},
		"no port":                    {Addr: "127.0.0.1", From: "a@gw.example", TLS: TLSNone},
		"password without user":      {Addr: "127.0.0.1:25", From: "a@gw.example", Password: "x"},
		"bad sender":                 {Addr: "127.0.0.1:25", From: "not an address", TLS: TLSNone},
	} {
		if err := m.Send(context.Background(), n, handlers, "en"); !errors.Is(err, ErrPermanent) {
			t.Errorf("%s: Send = %v, want a permanent error", name, err)
		}
	}
	if _, err := mail.ParseAddress(handlers[1]); err != nil {
		t.Fatal(err)
	}
	// The last line of defence: AUTH PLAIN itself refuses a clear channel.
	if _, _, err := (plainAuth{"u", "p", false}).Start(&smtpServerInfo); err == nil {
		t.Error("AUTH PLAIN started without TLS")
	}
}
