package dav

import (
	"encoding/xml"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/webdav"
)

func TestParseIf(t *testing.T) {
	for h, want := range map[string]string{
		"(<urn:a>)":                                        "[{ [{false urn:a }]}]",
		"(<urn:a> [\"e1\"]) (Not <DAV:no-lock>)":           "[{ [{false urn:a } {false  \"e1\"}]} { [{true DAV:no-lock }]}]",
		"<http://h/r> (<urn:a>) <http://h/s> (Not[\"x\"])": "[{http://h/r [{false urn:a }]} {http://h/s [{true  \"x\"}]}]",
		"(Not<urn:a>)":                                     "[{ [{true urn:a }]}]",
		"":                                                 "invalid",
		"()":                                               "invalid",
		"(<urn:a>":                                         "invalid",
		"<http://h/r>":                                     "invalid",
		"(<urn:a>) <http://h/r> (<urn:b>)":                 "invalid", // untagged, then tagged
		"(Nope <urn:a>)":                                   "invalid",
		"([\"e\"] junk)":                                   "invalid",
	} {
		lists, ok := parseIf(h)
		got := "invalid"
		if ok {
			var b strings.Builder
			b.WriteString("[")
			for i, l := range lists {
				if i > 0 {
					b.WriteString(" ")
				}
				b.WriteString("{" + l.tag + " [")
				for j, c := range l.conds {
					if j > 0 {
						b.WriteString(" ")
					}
					not := "false"
					if c.Not {
						not = "true"
					}
					b.WriteString("{" + not + " " + c.Token + " " + c.ETag + "}")
				}
				b.WriteString("]}")
			}
			b.WriteString("]")
			got = b.String()
		}
		if got != want {
			t.Errorf("parseIf(%q) = %s, want %s", h, got, want)
		}
	}
}

func TestLockConflicts(t *testing.T) {
	ls := newLockSystem(func(string) (string, bool) { return "", false }, (&clock{}).Now)
	excl, err := ls.create("/F/a", false, false, "", maxLockTimeout)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		root         string
		shared, zero bool
		conflict     bool
	}{
		{"/F/a", true, true, true},     // on the locked resource
		{"/F/a/b", false, true, true},  // below an infinite lock
		{"/F", false, false, true},     // an infinite lock above it
		{"/F", false, true, false},     // a zero-depth lock above it
		{"/F/ab", false, false, false}, // a sibling whose name starts the same
	} {
		l, err := ls.create(c.root, c.shared, c.zero, "", maxLockTimeout)
		if (err == webdav.ErrLocked) != c.conflict {
			t.Errorf("lock %+v: %v", c, err)
		}
		if err == nil {
			ls.unlock(l.token, c.root)
		}
	}
	if !ls.allowed("/F/a/b", []string{excl.token}) || ls.allowed("/F/a/b", nil) || !ls.allowed("/F/ab", nil) {
		t.Fatal("the exclusive lock's reach is wrong")
	}
	ls.unlock(excl.token, "/F/a")
	s1, _ := ls.create("/F/s", true, true, "", maxLockTimeout)
	s2, err := ls.create("/F/s", true, true, "", maxLockTimeout)
	if err != nil {
		t.Fatalf("a second shared lock: %v", err)
	}
	if _, err := ls.create("/F/s", false, true, "", maxLockTimeout); err != webdav.ErrLocked {
		t.Fatalf("an exclusive lock over shared ones: %v", err)
	}
	if !ls.allowed("/F/s", []string{s2.token}) || !ls.allowed("/F/s", []string{s1.token}) || ls.allowed("/F/s", []string{"urn:x"}) {
		t.Fatal("a shared lock's holders are wrong")
	}
	ls.removeTree("/F")
	if !ls.allowed("/F/s", nil) {
		t.Fatal("removing the tree left its locks")
	}
}

// TestLocksAcrossUsers: users sharing a journal folder share its locks,
// and a lock owner's token works in an If header.
func TestLocksAcrossUsers(t *testing.T) {
	e := newEnv(t)
	alice, bob := "files/alice/"+shared+"/x.c4gh", "files/bob/"+shared+"/x.c4gh"
	lockBody := `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>` +
		`<D:locktype><D:write/></D:locktype><D:owner><D:href>mailto:alice@example.org</D:href></D:owner></D:lockinfo>`
	req, _ := http.NewRequest("LOCK", e.url(alice), strings.NewReader(lockBody))
	req.SetBasicAuth("alice", "pw-alice")
	req.Header.Set("Timeout", "Second-86400")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Token   string `xml:"lockdiscovery>activelock>locktoken>href"`
		Timeout string `xml:"lockdiscovery>activelock>timeout"`
		Owner   string `xml:"lockdiscovery>activelock>owner>href"`
	}
	err = xml.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("LOCK: %d %v", resp.StatusCode, err)
	}
	if token := resp.Header.Get("Lock-Token"); token != "<"+answer.Token+">" || !regexp.MustCompile(`^opaquelocktoken:[0-9a-f-]{36}$`).MatchString(answer.Token) {
		t.Fatalf("lock token %q, header %q", answer.Token, token)
	}
	if answer.Timeout != "Second-3600" || answer.Owner != "mailto:alice@example.org" {
		t.Fatalf("the lock: %+v", answer)
	}
	if e.read(shared+"/x.c4gh") != "" {
		t.Fatal("LOCK did not create an empty file")
	}
	status, body := e.do("bob", "PUT", bob, strings.NewReader("bob's"), nil)
	e.want("bob's PUT on alice's lock", status, body, http.StatusLocked)
	status, body = e.do("bob", "DELETE", bob, nil, nil)
	e.want("bob's DELETE on alice's lock", status, body, http.StatusLocked)
	status, body = e.do("alice", "PUT", alice, strings.NewReader("alice's"), map[string]string{"If": "(<" + answer.Token + ">)"})
	e.want("alice's PUT with her token", status, body, http.StatusNoContent)
	status, body = e.do("bob", "UNLOCK", bob, nil, map[string]string{"Lock-Token": "<urn:not-it>"})
	e.want("UNLOCK with a wrong token", status, body, http.StatusConflict)
	status, body = e.do("alice", "UNLOCK", alice, nil, map[string]string{"Lock-Token": "<" + answer.Token + ">"})
	e.want("UNLOCK", status, body, http.StatusNoContent)
	status, body = e.do("bob", "PUT", bob, strings.NewReader("bob's"), nil)
	e.want("bob's PUT after the unlock", status, body, http.StatusNoContent)
	if e.read(shared+"/x.c4gh") != "bob's" {
		t.Fatal("the last PUT was not stored")
	}
}
