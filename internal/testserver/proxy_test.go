package testserver

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers every connection with what it receives, and reports
// how many bytes each connection delivered before it ended.
func echoServer(t *testing.T) (addr string, got <-chan int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	counts := make(chan int64, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				n, _ := io.Copy(c, c)
				counts <- n
			}()
		}
	}()
	return ln.Addr().String(), counts
}

func received(t *testing.T, got <-chan int64) int64 {
	t.Helper()
	select {
	case n := <-got:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("the target never saw its connection end")
		return 0
	}
}

// roundTrip sends msg through the proxy and reads the echo until the
// connection ends.
func roundTrip(t *testing.T, p *Proxy, msg []byte) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	_ = c.(*net.TCPConn).CloseWrite()
	return io.ReadAll(c)
}

func TestCutProxy(t *testing.T) {
	target, got := echoServer(t)
	p := CutProxy(t, target)
	msg := bytes.Repeat([]byte("0123456789"), 100)

	echo, err := roundTrip(t, p, msg)
	if err != nil || !bytes.Equal(echo, msg) {
		t.Fatalf("through the proxy: %d bytes back, %v; want the %d sent", len(echo), err, len(msg))
	}
	if n := received(t, got); n != int64(len(msg)) {
		t.Fatalf("the target received %d bytes, want %d", n, len(msg))
	}

	p.CutAfter(300)
	echo, err = roundTrip(t, p, msg)
	if err == nil && len(echo) >= len(msg) {
		t.Fatalf("an armed proxy let the whole message through and back (%d bytes)", len(echo))
	}
	if n := received(t, got); n > 300 {
		t.Fatalf("the target received %d bytes of a connection cut after 300", n)
	}
	if p.Cuts() != 1 || p.Sent() != int64(len(msg))+300 {
		t.Fatalf("Cuts, Sent = %d, %d; want 1, %d", p.Cuts(), p.Sent(), len(msg)+300)
	}

	// It cuts once: the next connection goes through whole.
	echo, err = roundTrip(t, p, msg)
	if err != nil || !bytes.Equal(echo, msg) {
		t.Fatalf("after the cut: %d bytes back, %v", len(echo), err)
	}
	if n := received(t, got); n != int64(len(msg)) || p.Cuts() != 1 {
		t.Fatalf("after the cut the target received %d bytes and the proxy cut %d times", n, p.Cuts())
	}
}
