package dav

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hrefs are the paths a PROPFIND answer names, unescaped.
func hrefs(t *testing.T, body string) []string {
	t.Helper()
	var ms struct {
		Responses []struct {
			Href string `xml:"DAV: href"`
		} `xml:"DAV: response"`
	}
	if err := xml.Unmarshal([]byte(body), &ms); err != nil {
		t.Fatalf("PROPFIND answer: %v\n%s", err, body)
	}
	var out []string
	for _, r := range ms.Responses {
		p, err := url.PathUnescape(r.Href)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

var depth1 = map[string]string{"Depth": "1"}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.url("files/alice/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Basic realm="siirto"` {
		t.Fatalf("no credentials: %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if ev := e.events.snapshot(); len(ev.loginFailed) != 0 {
		t.Fatalf("the challenge counted as a failed login: %v", ev.loginFailed)
	}
	status, body := e.doAuth("alice", "wrong", "PROPFIND", "files/alice/", nil, depth1)
	e.want("wrong password", status, body, http.StatusUnauthorized)
	status, body = e.doAuth("mallory", "pw-mallory", "PROPFIND", "files/mallory/", nil, depth1)
	e.want("unknown user", status, body, http.StatusUnauthorized)
	status, body = e.doAuth("../alice", "x", "PROPFIND", "files/alice/", nil, depth1)
	e.want("a user name that is a path", status, body, http.StatusUnauthorized)
	if ev := e.events.snapshot(); !slices.Equal(ev.loginFailed, []string{"127.0.0.1 alice", "127.0.0.1 mallory", "127.0.0.1 ../alice"}) {
		t.Fatalf("LoginFailed events: %q", ev.loginFailed)
	}
	// Authenticated, but in another user's tree: never.
	for _, p := range []string{"files/bob/", "files/bob/" + shared + "/", "uploads/bob/x"} {
		status, body = e.do("alice", "PROPFIND", p, nil, depth1)
		e.want("alice in bob's tree "+p, status, body, http.StatusForbidden)
	}
	status, body = e.do("alice", "PROPFIND", "../other/", nil, depth1)
	e.want("outside the DAV tree", status, body, http.StatusNotFound)
	if ev := e.events.snapshot(); len(ev.denied) != 3 {
		t.Fatalf("Denied events: %q", ev.denied)
	}
}

func TestRootListsOwnFolders(t *testing.T) {
	e := newEnv(t)
	status, body := e.do("alice", "PROPFIND", "files/alice/", nil, depth1)
	e.want("PROPFIND the root", status, body, http.StatusMultiStatus)
	got := hrefs(t, body)
	want := []string{"/remote.php/dav/files/alice/", "/remote.php/dav/files/alice/" + closed + "/", "/remote.php/dav/files/alice/" + shared + "/"}
	if !slices.Equal(got, want) {
		t.Fatalf("alice's root lists %q, want %q", got, want)
	}
	for _, m := range []struct{ method, path string }{
		{"MKCOL", "files/alice/2030_1"}, {"PUT", "files/alice/x.c4gh"}, {"DELETE", "files/alice/" + shared},
		{"MOVE", "files/alice/" + shared}, {"PROPPATCH", "files/alice/"}, {"LOCK", "files/alice/"},
	} {
		status, body := e.do("alice", m.method, m.path, strings.NewReader(""), map[string]string{"Destination": e.url("files/alice/2030_1")})
		e.want(m.method+" at the root", status, body, http.StatusForbidden)
	}
	if _, err := os.Stat(filepath.Join(e.root, "2030_1")); err == nil {
		t.Fatal("a journal folder was made through the root")
	}
	if _, err := os.Stat(filepath.Join(e.root, shared)); err != nil {
		t.Fatal("the shared journal folder is gone")
	}
}

func TestOtherJournalIsInvisible(t *testing.T) {
	e := newEnv(t)
	e.write(bobOnly+"/secret.json", "{}")
	e.write(shared+"/mine.c4gh", "payload")
	for _, m := range []struct{ method, path string }{
		{"PROPFIND", bobOnly + "/"}, {"GET", bobOnly + "/secret.json"}, {"GET", bobOnly + "/journal_number.txt"},
		{"PUT", bobOnly + "/x.c4gh"}, {"DELETE", bobOnly + "/secret.json"}, {"MKCOL", bobOnly + "/sub"},
		{"PROPFIND", "2099_1/"}, {"PUT", "2099_1/x.c4gh"},
	} {
		status, body := e.do("alice", m.method, "files/alice/"+m.path, strings.NewReader("data"), depth1)
		e.want("alice "+m.method+" "+m.path, status, body, http.StatusNotFound)
		if strings.Contains(body, "secret") || strings.Contains(body, "THL") {
			t.Fatalf("the refusal reveals the other journal: %s", body)
		}
	}
	// Nor by moving or copying into it.
	for _, method := range []string{"MOVE", "COPY"} {
		status, body := e.do("alice", method, "files/alice/"+shared+"/mine.c4gh", nil,
			map[string]string{"Destination": e.url("files/alice/" + bobOnly + "/mine.c4gh")})
		e.want(method+" into another journal", status, body, http.StatusConflict)
		status, body = e.do("alice", method, "files/alice/"+shared+"/mine.c4gh", nil,
			map[string]string{"Destination": e.url("files/bob/" + bobOnly + "/mine.c4gh")})
		e.want(method+" into another user's tree", status, body, http.StatusForbidden)
	}
	if got := e.entries(bobOnly); !slices.Equal(got, []string{"journal_number.txt", "secret.json"}) {
		t.Fatalf("bob's journal folder changed: %v", got)
	}
	if e.read(shared+"/mine.c4gh") != "payload" {
		t.Fatal("the source of the refused move is gone")
	}
	// bob, who has the folder, sees it.
	status, body := e.do("bob", "GET", "files/bob/"+bobOnly+"/secret.json", nil, nil)
	e.want("bob reads his journal", status, body, http.StatusOK)
	ev := e.events.snapshot()
	if len(ev.denied) != 10 {
		t.Fatalf("%d refusals reported, want 10 (not those of a journal that does not exist): %q", len(ev.denied), ev.denied)
	}
	if !strings.Contains(ev.denied[0], "alice PROPFIND /remote.php/dav/files/alice/"+bobOnly+"/: the journal folder "+bobOnly+" is not one of the user's") {
		t.Fatalf("the first refusal: %q", ev.denied[0])
	}
}

func TestCompleteBundleIsImmutable(t *testing.T) {
	e := newEnv(t)
	base := "files/alice/" + shared + "/"
	put := func(name, content string) (int, string) {
		return e.do("alice", "PUT", base+name, strings.NewReader(content), nil)
	}
	// An empty manifest is a placeholder (Windows Explorer makes one
	// first), not a complete bundle, and no news for the gateway.
	status, body := put("early.json", "")
	e.want("an empty manifest", status, body, http.StatusCreated)
	status, body = put("early.json", "{}")
	e.want("the manifest's content", status, body, http.StatusNoContent)
	status, body = put("early.json", "{}")
	e.want("the manifest again", status, body, http.StatusForbidden)

	status, body = put("cohort.c4gh", "payload-1")
	e.want("first payload", status, body, http.StatusCreated)
	status, body = put("cohort.c4gh", "payload-2") // a rerun before the manifest: fine
	e.want("payload again", status, body, http.StatusNoContent)
	// The client's way: a hidden name, then MOVE with overwrite.
	status, body = put(".cohort.c4gh.part-1", "payload-3")
	e.want("hidden temporary payload", status, body, http.StatusCreated)
	status, body = e.do("alice", "MOVE", base+".cohort.c4gh.part-1", nil, map[string]string{"Destination": e.url(base + "cohort.c4gh"), "Overwrite": "T"})
	e.want("MOVE onto the incomplete payload", status, body, http.StatusNoContent)
	status, body = put("cohort.json", `{"manifest":1}`)
	e.want("manifest", status, body, http.StatusCreated)

	// Now the bundle is complete.
	status, body = put(".m.part", "forged")
	e.want("a hidden file", status, body, http.StatusCreated)
	for _, m := range []struct {
		method, path string
		header       map[string]string
	}{
		{"PUT", "cohort.c4gh", nil},
		{"PUT", "cohort.json", nil},
		{"DELETE", "cohort.c4gh", nil},
		{"DELETE", "cohort.json", nil},
		{"MOVE", "cohort.c4gh", map[string]string{"Destination": e.url(base + "other.c4gh")}},
		{"MOVE", ".m.part", map[string]string{"Destination": e.url(base + "cohort.json"), "Overwrite": "T"}},
		{"MOVE", ".m.part", map[string]string{"Destination": e.url(base + "cohort.c4gh"), "Overwrite": "T"}},
		{"COPY", ".m.part", map[string]string{"Destination": e.url(base + "cohort.json"), "Overwrite": "T"}},
		{"PROPPATCH", "cohort.json", nil},
		{"LOCK", "cohort.c4gh", nil},
	} {
		status, body := e.do("alice", m.method, base+m.path, strings.NewReader("forged"), m.header)
		e.want(m.method+" "+m.path+" of a complete bundle", status, body, http.StatusForbidden)
		if !strings.Contains(body, "complete") {
			t.Errorf("%s %s: the refusal does not say why: %q", m.method, m.path, body)
		}
	}
	if got := e.read(shared + "/cohort.c4gh"); got != "payload-3" {
		t.Fatalf("the payload of the complete bundle is now %q", got)
	}
	if got := e.read(shared + "/cohort.json"); got != `{"manifest":1}` {
		t.Fatalf("the manifest of the complete bundle is now %q", got)
	}
	// Copying it elsewhere is reading: allowed.
	status, body = e.do("alice", "COPY", base+"cohort.c4gh", nil, map[string]string{"Destination": e.url(base + "copy.c4gh")})
	e.want("COPY of a complete bundle's payload", status, body, http.StatusCreated)

	ev := e.events.snapshot()
	wantStored := []string{
		"alice 2022_53/early.json 2",
		"alice 2022_53/cohort.c4gh 9", "alice 2022_53/cohort.c4gh 9", "alice 2022_53/cohort.c4gh 9",
		"alice 2022_53/cohort.json 14", "alice 2022_53/copy.c4gh 9",
	}
	if !slices.Equal(ev.stored, wantStored) {
		t.Fatalf("Stored events:\n%q\nwant\n%q", ev.stored, wantStored)
	}
	if len(ev.denied) != 11 {
		t.Fatalf("%d Denied events, want 11: %q", len(ev.denied), ev.denied)
	}
}

// TestCommitRechecks: the rule is checked again at the rename, under the
// folder's lock, so a manifest that lands between the first check and
// the rename still protects the bundle.
func TestCommitRechecks(t *testing.T) {
	e := newEnv(t)
	rq := &request{user: "alice", addr: "127.0.0.1", grants: map[string]Folder{shared: {Name: shared}}}
	tmp := filepath.Join(e.root, shared, ".siirto-put-test")
	e.write(shared+"/.siirto-put-test", "late payload")
	e.write(shared+"/b.c4gh", "payload")
	e.write(shared+"/b.json", "manifest") // arrives after PUT's own check
	if _, _, err := e.s.commit(rq, target{folder: shared, rest: []string{"b.c4gh"}}, tmp, true); err == nil || !strings.Contains(err.Error(), "complete") {
		t.Fatalf("commit onto a complete bundle: %v", err)
	}
	if e.read(shared+"/b.c4gh") != "payload" {
		t.Fatal("the payload was replaced")
	}
}

func TestProtectedNames(t *testing.T) {
	e := newEnv(t)
	base := "files/alice/" + shared + "/"
	e.write(shared+"/cohort.receipt.json", "receipt")
	e.write(shared+"/receipt-key.pub", "key")
	for _, m := range []struct{ method, path string }{
		{"DELETE", "journal_number.txt"}, {"PUT", "journal_number.txt"}, {"PUT", "Journal_Number.TXT"},
		{"DELETE", "cohort.receipt.json"}, {"PUT", "cohort.receipt.json"}, {"PUT", "other.receipt.json"},
		{"DELETE", "receipt-key.pub"}, {"PUT", "receipt-key.pub"},
		{"MOVE", "cohort.receipt.json"}, {"PROPPATCH", "journal_number.txt"}, {"LOCK", "cohort.receipt.json"},
		{"MKCOL", "x.receipt.json"},
	} {
		status, body := e.do("alice", m.method, base+m.path, strings.NewReader("forged"),
			map[string]string{"Destination": e.url(base + "moved")})
		e.want(m.method+" "+m.path, status, body, http.StatusForbidden)
		if !strings.Contains(body, "only by the gateway") {
			t.Errorf("%s %s: the refusal does not say why: %q", m.method, m.path, body)
		}
	}
	e.write(shared+"/note.txt", "x")
	status, body := e.do("alice", "MOVE", base+"note.txt", nil, map[string]string{"Destination": e.url(base + "a.receipt.json")})
	e.want("MOVE onto a receipt name", status, body, http.StatusForbidden)
	status, body = e.do("alice", "COPY", base+"note.txt", nil, map[string]string{"Destination": e.url(base + "journal_number.txt"), "Overwrite": "T"})
	e.want("COPY onto journal_number.txt", status, body, http.StatusForbidden)
	if e.read(shared+"/journal_number.txt") != "2022/53\n" || e.read(shared+"/cohort.receipt.json") != "receipt" || e.read(shared+"/receipt-key.pub") != "key" {
		t.Fatal("a protected file changed")
	}
	for _, name := range []string{"journal_number.txt", "cohort.receipt.json", "receipt-key.pub"} {
		status, body := e.do("alice", "GET", base+name, nil, nil)
		e.want("GET "+name, status, body, http.StatusOK)
	}
}

func TestClosedFolderIsReadOnly(t *testing.T) {
	e := newEnv(t)
	base := "files/alice/" + closed + "/"
	e.write(closed+"/old.c4gh", "old")
	for _, m := range []struct{ method, path string }{
		{"PUT", "new.c4gh"}, {"PUT", "old.c4gh"}, {"DELETE", "old.c4gh"}, {"MKCOL", "sub"}, {"LOCK", "old.c4gh"},
		{"PROPPATCH", "old.c4gh"}, {"MOVE", "old.c4gh"},
	} {
		status, body := e.do("alice", m.method, base+m.path, strings.NewReader("x"), map[string]string{"Destination": e.url(base + "x")})
		e.want(m.method+" in a closed folder", status, body, http.StatusForbidden)
		if !strings.Contains(body, "closed") {
			t.Errorf("%s: the refusal does not say the folder is closed: %q", m.method, body)
		}
	}
	status, body := e.do("alice", "COPY", "files/alice/"+shared+"/journal_number.txt", nil,
		map[string]string{"Destination": e.url(base + "copied.txt")})
	e.want("COPY into a closed folder", status, body, http.StatusForbidden)
	if got := e.entries(closed); !slices.Equal(got, []string{"journal_number.txt", "old.c4gh"}) {
		t.Fatalf("the closed folder changed: %v", got)
	}
	status, body = e.do("alice", "GET", base+"old.c4gh", nil, nil)
	e.want("GET in a closed folder", status, body, http.StatusOK)
	status, body = e.do("alice", "PROPFIND", base, nil, depth1)
	e.want("PROPFIND a closed folder", status, body, http.StatusMultiStatus)
}

func TestHiddenAndBadNames(t *testing.T) {
	e := newEnv(t)
	base := "files/alice/" + shared + "/"
	e.write(shared+"/.siirto-put-123", "partial")
	e.write(shared+"/.siirto-receipt-9", "partial receipt")
	e.write(shared+"/visible.c4gh", "v")
	status, body := e.do("alice", "PROPFIND", base, nil, depth1)
	e.want("PROPFIND", status, body, http.StatusMultiStatus)
	for _, h := range hrefs(t, body) {
		if strings.Contains(h, ".siirto-") {
			t.Fatalf("a temporary file is listed: %s", h)
		}
	}
	for _, m := range []string{"GET", "PUT", "DELETE", "PROPFIND"} {
		status, body := e.do("alice", m, base+".siirto-put-123", strings.NewReader("x"), nil)
		e.want(m+" of a temporary file", status, body, http.StatusNotFound)
	}
	status, body = e.do("alice", "MOVE", base+"visible.c4gh", nil, map[string]string{"Destination": e.url(base + ".siirto-put-123")})
	e.want("MOVE onto a temporary name", status, body, http.StatusConflict)
	if e.read(shared+"/.siirto-put-123") != "partial" || e.read(shared+"/visible.c4gh") != "v" {
		t.Fatal("a refused request changed files")
	}
	status, body = e.do("alice", "MKCOL", base+"dir", nil, nil)
	e.want("MKCOL", status, body, http.StatusCreated)
	status, body = e.do("alice", "COPY", base+"dir", nil, map[string]string{"Destination": e.url(base + "dir/inner")})
	e.want("COPY of a folder into itself", status, body, http.StatusForbidden)
	for _, p := range []string{"a%5Cb", "a%01b", "%2e%2e/%2e%2e/" + bobOnly + "/journal_number.txt", "a%ffb"} {
		status, body := e.do("alice", "PUT", base+p, strings.NewReader("x"), nil)
		e.want("PUT "+p, status, body, http.StatusBadRequest)
	}
}
