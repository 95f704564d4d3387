package notify

import (
	"context"
	"net"
	"testing"

	"github.com/siirto/siirto/internal/testserver"
)

// TestProbe: a probe greets a real server and sends nothing; a server
// that is not there fails it.
func TestProbe(t *testing.T) {
	s := testserver.SMTPSink(t)
	m := sinkMailer(s)
	if err := m.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if msgs := s.Messages(t); len(msgs) != 0 {
		t.Fatalf("a probe left %d messages", len(msgs))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	m.Addr = addr
	if err := m.Probe(context.Background()); err == nil {
		t.Fatal("a probe of a closed port passed")
	}
}
