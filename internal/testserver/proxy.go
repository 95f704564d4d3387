package testserver

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy on 127.0.0.1 that forwards every connection to one
// target and can be armed to cut a connection in the middle of a transfer,
// as a lost network does.
type Proxy struct {
	Addr string // host:port to connect to instead of the target

	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu     sync.Mutex
	armed  bool
	left   int64 // client→server bytes still forwarded before the cut
	sent   int64 // client→server bytes forwarded in all
	cuts   int
	conns  map[net.Conn]struct{}
	closed bool
}

// CutProxy starts a proxy to target (host:port), stopped by t.Cleanup.
func CutProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testserver: proxy: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// CutAfter arms the proxy: once n more bytes have been forwarded from
// clients to the target, the connection carrying the last of them is
// closed abruptly on both sides (a TCP reset). It cuts once; a later
// CutAfter arms it again.
func (p *Proxy) CutAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed, p.left = true, n
}

// Cuts is how many connections the proxy has cut so far.
func (p *Proxy) Cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// Sent is how many bytes the proxy has forwarded from clients to the
// target so far, request headers included.
func (p *Proxy) Sent() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		server, err := net.DialTimeout("tcp", p.target, 10*time.Second)
		if err != nil {
			reset(client)
			continue
		}
		if !p.track(client, server) {
			reset(client)
			reset(server)
			return
		}
		p.wg.Add(1)
		go p.serve(client, server)
	}
}

// track registers a connection pair for close, unless the proxy is closed.
func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// serve forwards one connection both ways until both directions end or
// the connection is cut.
func (p *Proxy) serve(client, server net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client, server)
	back := make(chan struct{})
	go func() { // server → client, untouched
		defer close(back)
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				if _, werr := client.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		closeWrite(client)
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			allow, cut := p.take(int64(n))
			if allow > 0 {
				if _, werr := server.Write(buf[:allow]); werr != nil {
					break
				}
			}
			if cut {
				reset(client)
				reset(server)
				<-back
				return
			}
		}
		if err != nil {
			break
		}
	}
	closeWrite(server)
	<-back
	client.Close()
	server.Close()
}

// take accounts for n bytes read from a client: how many of them to
// forward, and whether to cut the connection after them.
func (p *Proxy) take(n int64) (allow int64, cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	allow = n
	if p.armed && n >= p.left {
		allow, cut = p.left, true
		p.armed = false
		p.cuts++
	} else if p.armed {
		p.left -= n
	}
	p.sent += allow
	return allow, cut
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
}

// reset closes a connection with a TCP reset rather than an orderly end,
// discarding what is still unsent, as a dropped network path looks to the
// other side.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		return
	}
	c.Close()
}
