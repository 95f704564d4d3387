package dav

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestBanAfterFailures(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.MaxFailures = 3
		c.FailWindow = time.Minute
		c.BanFor = 10 * time.Minute
	})
	propfind := func(password string) int {
		status, _ := e.doAuth("alice", password, "PROPFIND", "files/alice/", nil, depth1)
		return status
	}
	// Failures spread wider than the window never add up to a ban.
	for range 2 {
		if s := propfind("wrong"); s != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", s)
		}
	}
	e.clock.Add(2 * time.Minute)
	for range 2 {
		if s := propfind("wrong"); s != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", s)
		}
	}
	if s := propfind("pw-alice"); s != http.StatusMultiStatus {
		t.Fatalf("right password after 2+2 spread failures: %d", s)
	}
	// The third failure within the window bans the address, and then
	// even the right password is refused without being checked.
	if s := propfind("wrong"); s != http.StatusUnauthorized {
		t.Fatalf("third failure: %d", s)
	}
	if ev := e.events.snapshot(); !slices.Equal(ev.banned, []string{"127.0.0.1"}) {
		t.Fatalf("Banned events: %q", ev.banned)
	}
	status, _ := e.doAuth("alice", "pw-alice", "PROPFIND", "files/alice/", nil, depth1)
	if status != http.StatusTooManyRequests {
		t.Fatalf("right password while banned: %d", status)
	}
	req, _ := http.NewRequest("GET", e.url("files/alice/"+shared+"/journal_number.txt"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "601" {
		t.Fatalf("while banned: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	failed := len(e.events.snapshot().loginFailed)
	propfind("wrong")
	if ev := e.events.snapshot(); len(ev.loginFailed) != failed || len(ev.banned) != 1 {
		t.Fatalf("a banned address's attempts were checked: %d failures, %d bans", len(ev.loginFailed), len(ev.banned))
	}
	e.clock.Add(9 * time.Minute)
	if s := propfind("pw-alice"); s != http.StatusTooManyRequests {
		t.Fatalf("right password before the ban ends: %d", s)
	}
	e.clock.Add(time.Minute)
	if s := propfind("pw-alice"); s != http.StatusMultiStatus {
		t.Fatalf("right password after the ban: %d", s)
	}
}

func TestGuardMemoryIsBounded(t *testing.T) {
	g := newGuard(3, time.Minute, time.Hour)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g.fail("192.0.2.1", now)
	g.fail("192.0.2.1", now)
	if until := g.fail("192.0.2.1", now); until.IsZero() {
		t.Fatal("three failures did not ban")
	}
	for i := range maxPeers + 10 {
		g.fail("10."+string(rune('a'+i%26))+"/"+time.Duration(i).String(), now)
	}
	if n := len(g.peers); n > maxPeers {
		t.Fatalf("%d addresses tracked, at most %d", n, maxPeers)
	}
	if _, banned := g.banned("192.0.2.1", now); !banned {
		t.Fatal("making room lifted a ban")
	}
	g.prune(now.Add(2 * time.Hour))
	if n := len(g.peers); n != 0 {
		t.Fatalf("%d addresses left after everything expired", n)
	}
}

func TestClientAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5555":             "127.0.0.1",
		"[::ffff:192.0.2.7]:80":      "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:1":           "fe80::/64",
		"not an address":             "not an address",
	} {
		if got := clientAddr(in); got != want {
			t.Errorf("clientAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
