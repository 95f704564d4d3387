package testserver

import (
	"errors"
	"mime"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSMTPSink(t *testing.T) {
	if testing.Short() {
		t.Skip("smtp-sink is an integration server; skipped with -short")
	}
	var s *Sink
	t.Run("server", func(t *testing.T) {
		s = SMTPSink(t)
		if !strings.HasPrefix(s.Addr, "127.0.0.1:") {
			t.Fatalf("Addr = %q", s.Addr)
		}
		if got := s.Messages(t); len(got) != 0 {
			t.Fatalf("a new sink holds %d messages", len(got))
		}
		first := "From: gw@example.fi\r\nTo: a@example.fi\r\nSubject: " + mime.QEncoding.Encode("utf-8", "Hyvää päivää") + "\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			"P=C3=A4iv=C3=A4=\r\n\r\n.a line that starts with a dot\r\n\r\n"
		second := "From: gw@example.fi\r\nSubject: two\r\n\r\nplain\r\n"
		// Back to back, so both land in the same second: each still gets a file.
		if err := smtp.SendMail(s.Addr, nil, "gw@example.fi", []string{"a@example.fi"}, []byte(first)); err != nil {
			t.Fatal(err)
		}
		if err := smtp.SendMail(s.Addr, nil, "gw@example.fi", []string{"b@example.fi", "c@example.fi"}, []byte(second)); err != nil {
			t.Fatal(err)
		}
		msgs := s.WaitMessages(t, 2)
		if len(msgs) != 2 || msgs[0].File == msgs[1].File || filepath.Dir(msgs[0].File) != s.Dir {
			t.Fatalf("got %d messages: %+v", len(msgs), msgs)
		}
		// Sent in the same clock tick, they may come in either order.
		if msgs[0].Header.Get("Subject") == "two" {
			msgs[0], msgs[1] = msgs[1], msgs[0]
		}
		m := msgs[0]
		if m.From != "gw@example.fi" || !slices.Equal(m.To, []string{"a@example.fi"}) {
			t.Errorf("envelope of the first: from %q to %q", m.From, m.To)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil || subject != "Hyvää päivää" {
			t.Errorf("Subject = %q, %v", subject, err)
		}
		for _, k := range append(sinkHeaders, "Received") {
			if v, ok := m.Header[k]; ok {
				t.Errorf("smtp-sink's own header %s: %q left in Header", k, v)
			}
		}
		if want := "Päivä\n.a line that starts with a dot\n\n"; m.Body != want {
			t.Errorf("Body = %q, want %q", m.Body, want)
		}
		m = msgs[1]
		if !slices.Equal(m.To, []string{"b@example.fi", "c@example.fi"}) || m.Header.Get("Subject") != "two" || m.Body != "plain\n" {
			t.Errorf("second message: to %q, subject %q, body %q", m.To, m.Header.Get("Subject"), m.Body)
		}
	})
	if s == nil {
		t.FailNow()
	}
	// Stopped and removed when its test ended.
	if conn, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still answers after its test ended", s.Addr)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("%s is still on disk: %v", s.Dir, err)
	}
}

func TestSMTPSinkFlags(t *testing.T) {
	s := SMTPSink(t, "-f", "RCPT")
	err := smtp.SendMail(s.Addr, nil, "gw@example.fi", []string{"a@example.fi"}, []byte("Subject: x\r\n\r\nx\r\n"))
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code/100 != 5 {
		t.Fatalf("SendMail with RCPT refused: %v, want a 5xx reply", err)
	}
	if got := s.Messages(t); len(got) != 0 {
		t.Fatalf("a refused message was kept: %+v", got)
	}
}
