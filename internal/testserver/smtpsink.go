package testserver

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// smtpSinkBin is where Debian's postfix package puts smtp-sink; it is
// not on a normal user's PATH.
const smtpSinkBin = "/usr/sbin/smtp-sink"

// Sink is a running postfix smtp-sink: an SMTP server on 127.0.0.1 that
// accepts every message and keeps each in a file of its own.
type Sink struct {
	Addr string // host:port, such as 127.0.0.1:40123
	Dir  string // the folder of dumped messages, one file per message
}

// Message is one mail transaction the sink accepted.
type Message struct {
	File   string      // the dump file
	From   string      // the MAIL FROM address, without <> and parameters
	To     []string    // the RCPT TO addresses, in the order sent
	Header mail.Header // the headers exactly as the client sent them
	// Body is the body decoded by its Content-Transfer-Encoding
	// (quoted-printable, base64, or none), with LF line ends: smtp-sink
	// drops every CR. Multipart bodies are left as they are.
	Body string
	Raw  []byte // the dump file as smtp-sink wrote it
}

// SMTPSink starts postfix's smtp-sink for the test on a free port of
// 127.0.0.1, stopped by t.Cleanup. flags are extra smtp-sink options that
// make it misbehave on purpose, such as "-f", "RCPT" (5xx to RCPT),
// "-r", "." (4xx to the end of DATA) or "-w", "5" (a slow DATA reply);
// never -d, -D or -u, which SMTPSink sets. With -short it skips; when
// smtp-sink is not installed it fails the test, naming
// scripts/services/install.sh.
//
// smtp-sink offers neither STARTTLS nor a real AUTH (it answers AUTH
// with 250, which clients rightly take as a failure).
func SMTPSink(t testing.TB, flags ...string) *Sink {
	t.Helper()
	find := func() (string, error) {
		if _, err := os.Stat(smtpSinkBin); err == nil {
			return smtpSinkBin, nil
		}
		return exec.LookPath("smtp-sink")
	}
	start := func(t testing.TB, bin, dir string) (*Sink, error) { return startSMTPSink(t, bin, dir, flags) }
	return launch(t, "smtp-sink", find, installHint, start)
}

func startSMTPSink(t testing.TB, bin, dir string, flags []string) (*Sink, error) {
	mailDir := filepath.Join(dir, "mail")
	if err := os.Mkdir(mailDir, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Sink{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: mailDir}
	// -d makes one file per message: the template's time of day plus a
	// random hex suffix that smtp-sink re-draws if the name exists, so
	// two messages in the same second get two files.
	args := append(append([]string(nil), flags...), "-d", mailDir+"/%Y%m%d%H%M%S.", s.Addr, "100")
	cmd, err := smtpSinkCommand(bin, dir, mailDir, args)
	if err != nil {
		return nil, err
	}
	p, err := spawn("smtp-sink", dir, "", cmd)
	if err != nil {
		return nil, err
	}
	if err := p.waitFor(smtpGreets(s.Addr)); err != nil {
		return nil, p.failed(err)
	}
	p.stopAtCleanup(t, "smtp://"+s.Addr)
	return s, nil
}

// smtpSinkCommand runs smtp-sink as nobody when the tests run as root:
// smtp-sink refuses to run as root without -u. Its own -u would switch
// user after the kernel was told to signal it when the test binary dies,
// and a change of user clears that, so an orphan would keep the port. The
// switch is done by setpriv instead, which sets the parent-death signal
// again after it. The dump folder must then be nobody's, and the
// server's private folder passable (not readable) by nobody.
func smtpSinkCommand(bin, dir, mailDir string, args []string) (*exec.Cmd, error) {
	if os.Geteuid() != 0 {
		return exec.Command(bin, args...), nil
	}
	uid, gid, err := lookupUser("nobody")
	if err != nil {
		return nil, fmt.Errorf("smtp-sink must not run as root, and there is no user nobody: %v", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, err
	}
	if err := os.Chown(mailDir, uid, gid); err != nil {
		return nil, err
	}
	if setpriv, err := exec.LookPath("setpriv"); err == nil {
		return exec.Command(setpriv, append([]string{"--reuid=" + strconv.Itoa(uid), "--regid=" + strconv.Itoa(gid), "--clear-groups",
			"--pdeathsig=TERM", "--", bin}, args...)...), nil
	}
	return exec.Command(bin, append([]string{"-u", "nobody"}, args...)...), nil
}

// smtpGreets is a probe: a connection to addr gets a 220 greeting.
func smtpGreets(addr string) func() error {
	return func() error {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "220 ") {
			return fmt.Errorf("greeting %q", strings.TrimSpace(line))
		}
		_, _ = io.WriteString(conn, "QUIT\r\n")
		return nil
	}
}

// Messages returns every message the sink has accepted, oldest first by
// the time its file was last written, and fails the test if one cannot be
// parsed. smtp-sink creates a message's file at MAIL FROM and removes it
// if the transaction ends before DATA, possibly only after the client has
// seen the reply that ended it: such files, even when removed while
// Messages reads the folder, are left out. It closes the file before it
// answers the final ".", so a message whose Send has returned is
// complete. File times are as coarse as the kernel's clock tick (a few
// milliseconds): messages sent back to back may come in either order, so
// find them by their headers.
func (s *Sink) Messages(t testing.TB) []Message {
	t.Helper()
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		t.Fatalf("testserver: smtp-sink messages: %v", err)
	}
	type dumped struct {
		msg  Message
		time time.Time
	}
	var all []dumped
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		file := filepath.Join(s.Dir, e.Name())
		raw, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			// Removed since ReadDir: a transaction that ended before
			// DATA (such as after a refused RCPT), which smtp-sink drops
			// after its reply, so possibly after the client has moved on.
			continue
		}
		if err != nil {
			t.Fatalf("testserver: smtp-sink messages: %v", err)
		}
		if !dataStarted(raw) {
			continue // a transaction before DATA: dropped or completed later
		}
		m, err := parseDump(raw)
		if err != nil {
			t.Fatalf("testserver: smtp-sink message %s: %v\n%s", file, err, raw)
		}
		m.File = file
		all = append(all, dumped{m, info.ModTime()})
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].time.Equal(all[j].time) {
			return all[i].time.Before(all[j].time)
		}
		return all[i].msg.File < all[j].msg.File
	})
	out := make([]Message, len(all))
	for i, d := range all {
		out[i] = d.msg
	}
	return out
}

// WaitMessages waits until the sink holds at least n messages and
// returns them all, failing the test if that takes longer than startWait.
func (s *Sink) WaitMessages(t testing.TB, n int) []Message {
	t.Helper()
	deadline := time.Now().Add(startWait)
	for {
		msgs := s.Messages(t)
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("testserver: smtp-sink holds %d messages after %v, want %d", len(msgs), startWait, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sinkHeaders are the headers smtp-sink writes before the client's own.
var sinkHeaders = []string{"X-Client-Addr", "X-Client-Proto", "X-Helo-Args", "X-Mail-Args", "X-Rcpt-Args"}

// parseDump reads one smtp-sink dump: its own headers, then the message,
// then one empty line.
func parseDump(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	h := msg.Header
	m := Message{Header: h, Raw: raw, From: envelopeAddr(h.Get("X-Mail-Args"))}
	for _, r := range h["X-Rcpt-Args"] {
		m.To = append(m.To, envelopeAddr(r))
	}
	for _, k := range sinkHeaders {
		delete(h, k)
	}
	// smtp-sink's Received comes before any the client sent.
	if rec := h["Received"]; len(rec) > 0 {
		if len(rec) == 1 {
			delete(h, "Received")
		} else {
			h["Received"] = rec[1:]
		}
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return Message{}, err
	}
	// The empty line smtp-sink appends is the LF of the final ".\r\n".
	body = bytes.TrimSuffix(body, []byte("\n"))
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		body, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	case "base64":
		body, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(body)))
	}
	if err != nil {
		return Message{}, fmt.Errorf("body: %v", err)
	}
	m.Body = string(body)
	return m, nil
}

// dataStarted reports whether smtp-sink got as far as DATA in the
// transaction dumped in raw: it then ends its own headers with a
// Received header naming itself, before the client's.
func dataStarted(raw []byte) bool {
	head, _, _ := bytes.Cut(raw, []byte("\n\n"))
	return bytes.Contains(head, []byte(" (smtp-sink) with "))
}

// envelopeAddr turns "<a@b> SIZE=10" into "a@b".
func envelopeAddr(args string) string {
	addr, _, _ := strings.Cut(strings.TrimSpace(args), " ")
	return strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
}
