package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// fakeTransport stands in for the client's transfer code: these are unit
// tests of the server; the real transport against a real gateway runs in
// cmd/siirto-gateway's TestAppInBrowser.
type fakeTransport struct {
	mu       sync.Mutex
	packed   map[string]string // zip entry -> content
	password string
	// breakUpload fails Send's upload (after the copy is whole) and the
	// first breakUpload-1 Uploads, as a dropped connection would.
	breakUpload int
	uploads     int
}

func (f *fakeTransport) Connect(_ context.Context, l Login) ([]Folder, error) {
	if l.Password != f.password {
		return nil, verify.Errorf(verify.CodeAuth, "wrong password")
	}
	return []Folder{{URL: "http://127.0.0.1:1/THL_1_2023/", Name: "THL_1_2023", Journal: "THL/1/2023"}}, nil
}

func (f *fakeTransport) read(b Bundle) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.packed = map[string]string{}
	for _, s := range b.Files {
		r, err := s.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if int64(len(data)) != s.Info.Size() {
			return errors.New("short file")
		}
		f.packed[s.Name] = string(data)
	}
	return nil
}

func (f *fakeTransport) Send(_ context.Context, _ Login, _ Folder, b Bundle) ([]byte, error) {
	if err := f.read(b); err != nil {
		return nil, err
	}
	m := []byte(`{"format":"siirto/1"}`)
	if err := os.WriteFile(filepath.Join(b.Dir, b.Name+".json"), m, 0o600); err != nil {
		return nil, err
	}
	if f.breakUpload > 0 {
		return m, verify.Errorf(verify.CodeNetwork, "connection reset")
	}
	return m, nil
}

func (f *fakeTransport) Upload(_ context.Context, _ Login, _ Folder, dir, name string, sent func(int64)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploads++
	if _, err := os.Stat(filepath.Join(dir, name+".json")); err != nil {
		return err // resumes only from the kept copy
	}
	if f.uploads < f.breakUpload {
		return verify.Errorf(verify.CodeNetwork, "connection reset again")
	}
	sent(8)
	return nil
}

func (f *fakeTransport) Receipts(context.Context, Login, Folder) (ReadReceipt, error) {
	return func(context.Context, string, []byte) (*verify.Receipt, error) {
		return &verify.Receipt{Status: verify.ReceiptAccepted}, nil
	}, nil
}

func (f *fakeTransport) Encrypt(_ context.Context, b Bundle) ([]byte, error) {
	return nil, f.read(b)
}

func TestListenRefusesAllButLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0", "localhost:0", "192.0.2.1:0", "example.com:0"} {
		s, err := Listen(Config{Addr: addr, Transport: &fakeTransport{}})
		if err == nil {
			s.ln.Close()
			t.Errorf("Listen(%q) bound to %s", addr, s.ln.Addr())
		} else if !errors.Is(err, ErrNotLoopback) && addr != ":0" {
			t.Errorf("Listen(%q): %v, want ErrNotLoopback", addr, err)
		}
	}
	s, err := Listen(Config{Transport: &fakeTransport{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.ln.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %s", s.URL())
	}
}

// serve runs an app for a test and returns it with a client that holds
// the token's cookie.
func serve(t *testing.T, tr Transport, cfg Config) (*Server, *http.Client) {
	t.Helper()
	cfg.Transport = tr
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = t.TempDir()
	}
	s, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.RawQuery != "" {
		t.Fatalf("the token address: %d, landed on %s", resp.StatusCode, resp.Request.URL)
	}
	return s, c
}

func TestGuard(t *testing.T) {
	s, c := serve(t, &fakeTransport{}, Config{})
	plain := &http.Client{}
	cases := []struct {
		name   string
		client *http.Client
		method string
		host   string
		header map[string]string
		want   int
	}{
		{"token cookie", c, "GET", "", nil, 200},
		{"localhost too", c, "GET", "localhost:" + port(s), nil, 403}, // the cookie is 127.0.0.1's
		{"localhost with the token", plain, "GET", "localhost:" + port(s), map[string]string{"Cookie": s.cookieName() + "=" + s.token}, 200},
		{"no token", plain, "GET", "", nil, 403},
		{"wrong token", plain, "GET", "", map[string]string{"Cookie": s.cookieName() + "=00"}, 403},
		{"wrong Host", c, "GET", "evil.example", nil, 403},
		{"rebound Host with the port", c, "GET", "evil.example:" + port(s), nil, 403},
		{"cross-origin POST", c, "POST", "", map[string]string{"Origin": "http://evil.example"}, 403},
		{"null origin POST", c, "POST", "", map[string]string{"Origin": "null"}, 403},
		{"other port's origin", c, "POST", "", map[string]string{"Origin": "http://127.0.0.1:1"}, 403},
		{"cross-site fetch", c, "GET", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-origin POST", c, "POST", "", map[string]string{"Origin": s.base}, 204},
	}
	for _, tc := range cases {
		path := "/api/state"
		if tc.method == "POST" {
			path = "/api/ping"
		}
		req, _ := http.NewRequest(tc.method, s.base+path, nil)
		if tc.host != "" {
			req.Host = tc.host
		}
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := tc.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: CSP %q", tc.name, csp)
		}
	}
	// A token in the address of a POST is not taken: it must not be
	// possible to forge a request with it from another page's form.
	resp, err := plain.Post(s.URL(), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("POST with the token in the URL: %d", resp.StatusCode)
	}
}

func port(s *Server) string {
	_, p, _ := strings.Cut(s.base, "127.0.0.1:")
	return p
}

func call(t *testing.T, c *http.Client, method, url string, body io.Reader, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// TestSendStreamsFilesInPlanOrder: the page's one body is cut into the
// planned files by size; clutter is skipped; the job ends accepted, and
// clean-up removes the app's own copy.
func TestSendStreamsFilesInPlanOrder(t *testing.T) {
	tr := &fakeTransport{password: "pw"}
	s, c := serve(t, tr, Config{ReceiptPoll: 10 * time.Millisecond})
	var conn struct {
		Session string
		Folders []Folder
		Error   *apiError
	}
	if st := call(t, c, "POST", s.base+"/api/connect", strings.NewReader(`{"url":"x","user":"u","password":"bad"}`), &conn); st == 200 || conn.Error == nil || conn.Error.Code != verify.CodeAuth {
		t.Fatalf("wrong password: %d %+v", st, conn.Error)
	}
	call(t, c, "POST", s.base+"/api/connect", strings.NewReader(`{"url":"x","user":"u","password":"pw"}`), &conn)
	if conn.Session == "" || len(conn.Folders) != 1 {
		t.Fatalf("connect: %+v", conn)
	}
	plan := `{"mode":"send","session":"` + conn.Session + `","folder":"` + conn.Folders[0].URL + `","name":"cohort",
		"files":[{"path":"d/a.txt","size":3},{"path":"d/.DS_Store","size":9},{"path":"d/sub/b.txt","size":5}]}`
	var j jobJSON
	if st := call(t, c, "POST", s.base+"/api/jobs", strings.NewReader(plan), &j); st != 200 || j.State != stateReady {
		t.Fatalf("plan: %d %+v", st, j)
	}
	if len(j.Skipped) != 1 || j.Skipped[0] != "d/.DS_Store" || j.Total != 8 {
		t.Fatalf("plan: %+v", j)
	}
	call(t, c, "PUT", s.base+"/api/jobs/"+j.ID+"/files", strings.NewReader("abchello"), &j)
	if j.Error != nil {
		t.Fatalf("send: %+v", j.Error)
	}
	want := map[string]string{"d/a.txt": "abc", "d/sub/b.txt": "hello"}
	if tr.packed["d/a.txt"] != "abc" || tr.packed["d/sub/b.txt"] != "hello" || len(tr.packed) != 2 {
		t.Fatalf("packed %v, want %v", tr.packed, want)
	}
	deadline := time.Now().Add(5 * time.Second)
	for j.State != stateAccepted && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		call(t, c, "GET", s.base+"/api/jobs/"+j.ID, nil, &j)
	}
	if j.State != stateAccepted || len(j.Created) != 1 {
		t.Fatalf("after the receipt: %+v", j)
	}
	copyDir := j.Created[0]
	if st, err := os.Stat(copyDir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("the kept copy's folder: %v %v", st, err)
	}
	call(t, c, "POST", s.base+"/api/jobs/"+j.ID+"/clean", nil, &j)
	if _, err := os.Stat(copyDir); !os.IsNotExist(err) || len(j.Cleaned) != 1 {
		t.Fatalf("clean-up left %s (%v), job %+v", copyDir, err, j)
	}
	// The same files twice are refused: one body cannot feed two jobs.
	var again struct{ Error *apiError }
	if st := call(t, c, "PUT", s.base+"/api/jobs/"+j.ID+"/files", strings.NewReader("abchello"), &again); st == 200 || again.Error == nil {
		t.Errorf("a second body: %d", st)
	}
}

func TestPlanRefuses(t *testing.T) {
	for name, files := range map[string][]planFile{
		"nothing":        nil,
		"only clutter":   {{Path: "Thumbs.db"}},
		"zip slip":       {{Path: "../etc/passwd", Size: 1}},
		"absolute":       {{Path: "/etc/passwd", Size: 1}},
		"backslash":      {{Path: `a\b.txt`, Size: 1}},
		"control":        {{Path: "a\x01.txt", Size: 1}},
		"case duplicate": {{Path: "d/A.txt", Size: 1}, {Path: "d/a.txt", Size: 1}},
		// The same name composed and decomposed, as macOS folders give it.
		"unicode duplicate": {{Path: "d/\u00e4.txt", Size: 1}, {Path: "d/a\u0308.txt", Size: 1}},
		"reserved":          {{Path: ".siirto/listing.json", Size: 1}},
		"negative size":     {{Path: "a.txt", Size: -1}},
	} {
		if _, _, _, err := plan(files); err == nil {
			t.Errorf("%s: planned", name)
		}
	}
	// Clutter is left out as siirto send leaves it out: also inside a
	// clutter folder.
	keep, skipped, _, err := plan([]planFile{{Path: "d/__MACOSX/._a", Size: 1}, {Path: "d/a", Size: 2}, {Path: "d/.DS_Store", Size: 3}})
	if err != nil || len(keep) != 1 || keep[0].Path != "d/a" || len(skipped) != 2 {
		t.Errorf("clutter: kept %v, skipped %v, %v", keep, skipped, err)
	}
}

func TestNewJobRefusesBadInput(t *testing.T) {
	s, c := serve(t, &fakeTransport{password: "pw"}, Config{})
	out := t.TempDir()
	for name, body := range map[string]string{
		"bad name":        `{"mode":"encrypt","journal":"2022/53","out_dir":"` + out + `","name":"a b","files":[{"path":"a","size":1}]}`,
		"bad journal":     `{"mode":"encrypt","journal":"../x","out_dir":"` + out + `","name":"ab","files":[{"path":"a","size":1}]}`,
		"relative out":    `{"mode":"encrypt","journal":"2022/53","out_dir":"out","name":"ab","files":[{"path":"a","size":1}]}`,
		"missing out":     `{"mode":"encrypt","journal":"2022/53","out_dir":"` + out + `/nope","name":"ab","files":[{"path":"a","size":1}]}`,
		"no session":      `{"mode":"send","session":"nope","folder":"x","name":"ab","files":[{"path":"a","size":1}]}`,
		"unknown mode":    `{"mode":"mail","name":"ab","files":[{"path":"a","size":1}]}`,
		"unknown field":   `{"mode":"send","name":"ab","files":[],"extra":1}`,
		"zip slip in app": `{"mode":"encrypt","journal":"2022/53","out_dir":"` + out + `","name":"ab","files":[{"path":"../a","size":1}]}`,
	} {
		var res struct{ Error *apiError }
		if st := call(t, c, "POST", s.base+"/api/jobs", strings.NewReader(body), &res); st < 400 || res.Error == nil || res.Error.Code == "" {
			t.Errorf("%s: %d %+v", name, st, res.Error)
		}
	}
}

func TestNameCheckIsVerifys(t *testing.T) {
	s, c := serve(t, &fakeTransport{}, Config{})
	for name, ok := range map[string]bool{"cohort_2024": true, "a b": false, "x.zip": false, "": false, "con": false} {
		var res struct {
			OK    bool
			Error *apiError
		}
		call(t, c, "GET", s.base+"/api/name?name="+strings.ReplaceAll(name, " ", "%20"), nil, &res)
		if res.OK != ok || (!ok && res.Error.Code != verify.CodeNameInvalid) {
			t.Errorf("%q: %+v", name, res)
		}
	}
}

// TestCataloguesComplete fails if any language lacks a key another has,
// a message is empty, a placeholder differs between languages, or the
// page uses a key no catalogue has.
func TestCataloguesComplete(t *testing.T) {
	keys := map[string]bool{}
	for _, l := range langs {
		for k := range catalogues[l] {
			keys[k] = true
		}
	}
	placeholder := regexp.MustCompile(`\{[a-z]+\}`)
	for k := range keys {
		var want []string
		for i, l := range langs {
			v, ok := catalogues[l][k]
			if !ok || strings.TrimSpace(v) == "" {
				t.Errorf("%s: no %q", l, k)
				continue
			}
			got := placeholder.FindAllString(v, -1)
			sort.Strings(got)
			if i == 0 {
				want = got
			} else if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s %q: placeholders %v, %s has %v", l, k, got, langs[0], want)
			}
		}
	}
	// Every key the page uses, in the markup and in the script.
	used := map[string]bool{}
	for file, re := range map[string]*regexp.Regexp{
		"web/index.html": regexp.MustCompile(`data-i18n="([^"]+)"`),
		"web/app.js":     regexp.MustCompile(`(?:\bt\(|dataset\.i18n = |: )'([a-z]+\.[A-Za-z.]+)'`),
	} {
		data, err := web.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			used[m[1]] = true
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in the page: the pattern is broken", len(used))
	}
	for k := range used {
		if !keys[k] {
			t.Errorf("the page uses %q, which no catalogue has", k)
		}
	}
	// Every error code has a title and advice in every language.
	for _, l := range langs {
		cat := catalog(l)
		for _, info := range verify.Codes() {
			for _, part := range []string{".title", ".advice"} {
				if strings.TrimSpace(cat["error."+string(info.Code)+part]) == "" {
					t.Errorf("%s: no %s%s", l, info.Code, part)
				}
			}
		}
	}
}

func TestPickLang(t *testing.T) {
	for _, c := range []struct{ asked, accept, fallback, want string }{
		{"sv", "fi", "en", "sv"},
		{"", "fi-FI,fi;q=0.9,en;q=0.8", "en", "fi"},
		{"", "de-DE,sv;q=0.5,en;q=0.7", "fi", "en"},
		{"", "de-DE", "sv", "sv"},
		{"", "", "", "en"},
		{"xx", "sv-FI", "", "sv"},
	} {
		if got := pickLang(c.asked, c.accept, c.fallback); got != c.want {
			t.Errorf("pickLang(%q, %q, %q) = %s, want %s", c.asked, c.accept, c.fallback, got, c.want)
		}
	}
}

func TestStopsWhenTheWindowCloses(t *testing.T) {
	s, err := Listen(Config{Transport: &fakeTransport{}, WindowGrace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.lastPing = time.Now() // a window called in once
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still serving 5 s after the window's last call")
	}
}

// TestIdleDespiteHeartbeats: an open window that only sends heartbeats
// does not keep the app from its idle timeout.
func TestIdleDespiteHeartbeats(t *testing.T) {
	s, err := Listen(Config{Transport: &fakeTransport{}, SpoolDir: t.TempDir(),
		IdleTimeout: 300 * time.Millisecond, WindowGrace: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if resp, err := c.Get(s.URL()); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-timeout:
			t.Fatal("still serving 10 s into heartbeats with nothing else")
		case <-time.After(100 * time.Millisecond):
			if resp, err := c.Post(s.base+"/api/ping", "text/plain", nil); err == nil {
				resp.Body.Close()
			}
		}
	}
}

// FuzzPickLang: any Accept-Language header gives one of the app's
// languages.
func FuzzPickLang(f *testing.F) {
	f.Add("", "fi-FI,fi;q=0.9,en;q=0.8", "sv")
	f.Add("x", "sv;q=abc,,;q=", "")
	f.Fuzz(func(t *testing.T, asked, accept, fallback string) {
		if _, ok := catalogues[pickLang(asked, accept, fallback)]; !ok {
			t.Fatalf("pickLang(%q, %q, %q) is no language of the app", asked, accept, fallback)
		}
	})
}

// FuzzPlan: a planned file list from the page is refused or gives only
// safe, distinct zip entries whose sizes add up.
func FuzzPlan(f *testing.F) {
	f.Add(`[{"path":"d/a.txt","size":3},{"path":"d/.DS_Store","size":1}]`)
	f.Add(`[{"path":"../x","size":1}]`)
	f.Add(`[{"path":"d/\u00e4.txt","size":1},{"path":"d/a\u0308.txt","size":1}]`)
	f.Add(`[{"path":"d/__MACOSX/x","size":1},{"path":"d/y","size":1}]`)
	f.Fuzz(func(t *testing.T, data string) {
		var files []planFile
		if json.Unmarshal([]byte(data), &files) != nil {
			return
		}
		keep, _, total, err := plan(files)
		if err != nil {
			return
		}
		var sum int64
		seen := map[string]bool{}
		for _, f := range keep {
			if encrypt.CheckEntryName(f.Path) != nil || seen[encrypt.FoldName(f.Path)] || f.Size < 0 || encrypt.IsJunkPath(f.Path) {
				t.Fatalf("planned an unsafe, repeated or clutter entry %q", f.Path)
			}
			seen[encrypt.FoldName(f.Path)] = true
			sum += f.Size
		}
		if sum != total {
			t.Fatalf("total %d, files add up to %d", total, sum)
		}
	})
}

// TestResumeFromTheKeptCopy: a broken upload is sent again from the
// encrypted copy; when that breaks too, Resume finishes it.
func TestResumeFromTheKeptCopy(t *testing.T) {
	tr := &fakeTransport{password: "pw", breakUpload: 2}
	s, c := serve(t, tr, Config{ReceiptPoll: 10 * time.Millisecond})
	var conn struct {
		Session string
		Folders []Folder
	}
	call(t, c, "POST", s.base+"/api/connect", strings.NewReader(`{"url":"x","user":"u","password":"pw"}`), &conn)
	var j jobJSON
	call(t, c, "POST", s.base+"/api/jobs", strings.NewReader(`{"mode":"send","session":"`+conn.Session+`","folder":"`+conn.Folders[0].URL+`","name":"b1","files":[{"path":"a","size":3}]}`), &j)
	call(t, c, "PUT", s.base+"/api/jobs/"+j.ID+"/files", strings.NewReader("abc"), &j)
	// Send broke, the automatic resume broke: the page offers Resume.
	if j.State != stateFailed || !j.Resumable || j.Error == nil || j.Error.Code != verify.CodeNetwork || tr.uploads != 1 {
		t.Fatalf("after two breaks: %+v (uploads %d)", j, tr.uploads)
	}
	call(t, c, "POST", s.base+"/api/jobs/"+j.ID+"/resume", nil, &j)
	deadline := time.Now().Add(5 * time.Second)
	for j.State != stateAccepted && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		call(t, c, "GET", s.base+"/api/jobs/"+j.ID, nil, &j)
	}
	if j.State != stateAccepted || j.Sent != 8 || tr.uploads != 2 {
		t.Fatalf("after Resume: %+v (uploads %d)", j, tr.uploads)
	}
	// Nothing left to resume.
	var res struct{ Error *apiError }
	if st := call(t, c, "POST", s.base+"/api/jobs/"+j.ID+"/resume", nil, &res); st == 200 {
		t.Errorf("a second resume: %d", st)
	}
}
