package dav

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The folders of the test users: alice and bob share 2022_53; only bob
// has THL_1234_14.02.00_2023; alice's 2021_1 is closed.
const (
	shared  = "2022_53"
	bobOnly = "THL_1234_14.02.00_2023"
	closed  = "2021_1"
)

// accounts is an in-memory account store for the tests.
type accounts struct {
	passwords map[string]string
	folders   map[string][]Folder
}

func (a *accounts) Authenticate(_ context.Context, user, password string) error {
	if p, ok := a.passwords[user]; ok && p == password {
		return nil
	}
	return errors.New("wrong user or password")
}

func (a *accounts) Folders(_ context.Context, user string) ([]Folder, error) {
	return a.folders[user], nil
}

// recorder keeps the events the server reports.
type recorder struct {
	mu          sync.Mutex
	stored      []string // "user folder/name size"
	loginFailed []string // "addr user"
	banned      []string // addr
	denied      []string // "user method path: reason"
}

func (r *recorder) Stored(user, addr, folder, name string, size int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stored = append(r.stored, user+" "+folder+"/"+name+" "+strconv.FormatInt(size, 10))
}

func (r *recorder) LoginFailed(addr, user string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loginFailed = append(r.loginFailed, addr+" "+user)
}

func (r *recorder) Banned(addr string, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.banned = append(r.banned, addr)
}

func (r *recorder) Denied(user, _, method, path, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.denied = append(r.denied, user+" "+method+" "+path+": "+reason)
}

func (r *recorder) snapshot() recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return recorder{stored: append([]string(nil), r.stored...), loginFailed: append([]string(nil), r.loginFailed...),
		banned: append([]string(nil), r.banned...), denied: append([]string(nil), r.denied...)}
}

// clock is a settable clock for the tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a running server with its folders.
type env struct {
	t       *testing.T
	srv     *httptest.Server
	s       *Server
	root    string
	uploads string
	events  *recorder
	clock   *clock
	logs    *logBuffer

	mu     sync.Mutex
	chunks int // chunk PUTs answered with success
}

// chunksStored is how many chunk PUTs succeeded so far.
func (e *env) chunksStored() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.chunks
}

// logBuffer collects the server's log, for tests that wait for a message.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitLog waits until the log has a line containing msg.
func (e *env) waitLog(msg string) {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(e.logs.String(), msg) {
			return
		}
	}
	e.t.Fatalf("the log never said %q:\n%s", msg, e.logs.String())
}

// newEnv starts a server on 127.0.0.1; change configures it first.
func newEnv(t *testing.T, change ...func(*Config)) *env {
	t.Helper()
	root, uploads := t.TempDir(), filepath.Join(t.TempDir(), "uploads")
	for folder, journal := range map[string]string{shared: "2022/53", bobOnly: "THL/1234/14.02.00/2023", closed: "2021/1"} {
		if err := os.Mkdir(filepath.Join(root, folder), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, folder, "journal_number.txt"), []byte(journal+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	acc := &accounts{
		passwords: map[string]string{"alice": "pw-alice", "bob": "pw-bob"},
		folders: map[string][]Folder{
			"alice": {{Name: shared}, {Name: closed, Closed: true}},
			"bob":   {{Name: shared}, {Name: bobOnly}},
		},
	}
	e := &env{t: t, root: root, uploads: uploads, events: &recorder{}, clock: &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, logs: &logBuffer{}}
	cfg := Config{Root: root, Uploads: uploads, Accounts: acc, Events: e.events, Now: e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, c := range change {
		c(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		s.ServeHTTP(sw, r)
		if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, uploadsPrefix) && sw.code() < 300 {
			e.mu.Lock()
			e.chunks++
			e.mu.Unlock()
		}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// url is the server's URL of a path under /remote.php/dav/.
func (e *env) url(p string) string { return e.srv.URL + "/remote.php/dav/" + p }

// do sends one request as user (password "pw-<user>"; "" for none) and
// returns the status and body.
func (e *env) do(user, method, p string, body io.Reader, header map[string]string) (int, string) {
	e.t.Helper()
	return e.doAuth(user, "pw-"+user, method, p, body, header)
}

func (e *env) doAuth(user, password, method, p string, body io.Reader, header map[string]string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url(p), body)
	if err != nil {
		e.t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, p, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the answer: %v", method, p, err)
	}
	return resp.StatusCode, string(got)
}

// want fails the test unless status is one of the wanted ones.
func (e *env) want(what string, status int, body string, wanted ...int) {
	e.t.Helper()
	for _, w := range wanted {
		if status == w {
			return
		}
	}
	e.t.Fatalf("%s: status %d, want %v\n%s", what, status, wanted, body)
}

// write puts a file straight into the inbox, as the gateway would.
func (e *env) write(rel, content string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.root, filepath.FromSlash(rel)), []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// read returns a file in the inbox, or "<absent>".
func (e *env) read(rel string) string {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.root, filepath.FromSlash(rel)))
	if errors.Is(err, os.ErrNotExist) {
		return "<absent>"
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return string(data)
}

// entries lists a folder of the inbox, hidden names included.
func (e *env) entries(rel string) []string {
	e.t.Helper()
	list, err := os.ReadDir(filepath.Join(e.root, filepath.FromSlash(rel)))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range list {
		out = append(out, d.Name())
	}
	return out
}
