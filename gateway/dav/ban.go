package dav

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// guard counts failed logins per address and bans an address that fails
// too often. Memory is bounded: at most maxPeers addresses are tracked,
// and entries whose failures and ban have expired are pruned.
type guard struct {
	max         int
	window, ban time.Duration

	mu    sync.Mutex
	peers map[string]*peer
}

// peer is one address's recent failures (at most max of them) and ban.
type peer struct {
	fails []time.Time
	until time.Time
}

// maxPeers bounds the addresses tracked at once (about 100 bytes each plus
// the failure times).
const maxPeers = 100_000

func newGuard(max int, window, ban time.Duration) *guard {
	return &guard{max: max, window: window, ban: ban, peers: map[string]*peer{}}
}

// banned reports whether addr is banned at now, and until when.
func (g *guard) banned(addr string, now time.Time) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.peers[addr]
	if p == nil || !now.Before(p.until) {
		return time.Time{}, false
	}
	return p.until, true
}

// fail records a failed login from addr at now. It returns the end of the
// ban when this failure starts one, and the zero time otherwise, so the
// caller reports each ban once.
func (g *guard) fail(addr string, now time.Time) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.peers[addr]
	if p == nil {
		if len(g.peers) >= maxPeers {
			g.pruneLocked(now)
		}
		if len(g.peers) >= maxPeers {
			g.evictLocked()
		}
		p = &peer{}
		g.peers[addr] = p
	}
	p.fails = recent(p.fails, now.Add(-g.window))
	p.fails = append(p.fails, now)
	if len(p.fails) < g.max {
		return time.Time{}
	}
	p.fails = nil
	p.until = now.Add(g.ban)
	return p.until
}

// recent keeps the times after since, reusing the slice.
func recent(ts []time.Time, since time.Time) []time.Time {
	kept := ts[:0]
	for _, t := range ts {
		if t.After(since) {
			kept = append(kept, t)
		}
	}
	return kept
}

// prune forgets addresses with no ban and no failure in the window.
func (g *guard) prune(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pruneLocked(now)
}

func (g *guard) pruneLocked(now time.Time) {
	since := now.Add(-g.window)
	for addr, p := range g.peers {
		p.fails = recent(p.fails, since)
		if len(p.fails) == 0 && !now.Before(p.until) {
			delete(g.peers, addr)
		}
	}
}

// evictLocked makes room when every tracked address is still live: it
// drops a tenth of the unbanned ones (in map order, that is at random),
// which only weakens the count for those addresses, never lifts a ban.
func (g *guard) evictLocked() {
	n := maxPeers / 10
	for addr, p := range g.peers {
		if n == 0 {
			return
		}
		if p.until.IsZero() {
			delete(g.peers, addr)
			n--
		}
	}
}

// clientAddr is the address failures are counted for: the IPv4 address,
// or the /64 network of an IPv6 one, since one IPv6 client commonly owns
// a whole /64 and could otherwise rotate through it.
func clientAddr(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}
