// Package testserver starts real servers on 127.0.0.1 for integration tests.
//
// The servers come from Debian packages that scripts/services/install.sh
// installs; nothing here downloads anything. Each call starts a private
// server on its own port and folder, stopped by t.Cleanup, so tests (and
// packages tested in parallel) never share one.
package testserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TemplatePath is the Apache config template, relative to the module root.
const TemplatePath = "scripts/services/apache-webdav.conf.tmpl"

const (
	apacheBin   = "/usr/sbin/apache2"
	modDAVFS    = "/usr/lib/apache2/modules/mod_dav_fs.so"
	installHint = "run `bash scripts/services/install.sh` as root (make test does)"
	startWait   = 10 * time.Second
	stopWait    = 10 * time.Second
)

// DAV is a running Apache mod_dav server with one user.
type DAV struct {
	URL            string // e.g. http://127.0.0.1:PORT/remote.php/dav/files/alice/  (trailing slash)
	User, Password string
	Root           string // the folder on disk that URL serves (dav/alice), for tests to inspect
}

// Options change what ApacheWith starts. The zero value is Apache's.
type Options struct {
	User string // the one user, and the <user> in the URL; "alice" if empty
}

var userRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Apache starts Apache mod_dav for the test, stopped by t.Cleanup. With -short it skips.
// If apache2 is not installed it fails the test with a message naming scripts/services/install.sh.
func Apache(t testing.TB) *DAV {
	t.Helper()
	return ApacheWith(t, Options{})
}

// ApacheWith is Apache with options.
func ApacheWith(t testing.TB, o Options) *DAV {
	t.Helper()
	if testing.Short() {
		t.Skip("testserver: Apache WebDAV is an integration server; skipped with -short")
	}
	if o.User == "" {
		o.User = "alice"
	}
	if !userRE.MatchString(o.User) {
		t.Fatalf("testserver: user name %q: want letters, digits, '.', '_' or '-'", o.User)
	}
	for _, f := range []string{apacheBin, modDAVFS} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("testserver: apache2 with mod_dav is not installed (%v): %s", err, installHint)
		}
	}
	tmpl, err := findTemplate()
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	password := randomHex(t, 16)
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost) // Apache checks it on every request: keep it cheap
	if err != nil {
		t.Fatalf("testserver: bcrypt: %v", err)
	}

	// A port that was free a moment ago may be taken by the time Apache binds
	// it (other packages start servers in parallel): then try another.
	return retryPort(t, func() (*DAV, error) { return start(t, tmpl, o.User, password, hash) })
}

// stopAtCleanup stops the server when the test ends, shows its log if
// the test failed, and removes its folder.
func (s *server) stopAtCleanup(t testing.TB, url, dir string) {
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("testserver: stopping %s: %v", s.name, err)
		}
		if t.Failed() {
			t.Logf("testserver: %s log (%s):\n%s", s.name, url, s.logTail())
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("testserver: %v", err)
		}
	})
}

// retryPort runs start up to three times while it fails only because the
// free port it picked was taken meanwhile, and fails the test otherwise.
func retryPort[T any](t testing.TB, start func() (T, error)) T {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		v, err := start()
		if err == nil {
			return v
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("testserver: %v", lastErr)
	var zero T
	return zero
}

var errPortTaken = errors.New("port taken")

// server is one server process (Apache, rclone) and its folder.
type server struct {
	name string // for messages: "apache2", "rclone"
	dir  string // Apache's ServerRoot: httpd.conf, htpasswd, logs/, lock/, dav/<user>
	conf string // Apache's httpd.conf; "" for servers stopped by SIGTERM
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	err  error         // cmd.Wait's result, once done is closed
}

func start(t testing.TB, tmpl []byte, userName, password string, hash []byte) (*DAV, error) {
	dir, err := makeRoot(userName)
	if err != nil {
		return nil, err
	}
	cleanDir := true
	defer func() {
		if cleanDir {
			os.RemoveAll(dir)
		}
	}()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{name: "apache2", dir: dir, conf: filepath.Join(dir, "httpd.conf"), done: make(chan struct{})}
	conf := strings.NewReplacer("@ROOT@", dir, "@PORT@", strconv.Itoa(port), "@USER@", userName).Replace(string(tmpl))
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	// Read by Apache's workers, which run as www-data.
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(userName+":"+string(hash)+"\n"), 0o644); err != nil {
		return nil, err
	}
	stderr, err := os.Create(filepath.Join(dir, "logs", "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	// In the foreground Apache stays our child: we wait for it directly, see
	// it die at once if its config is refused, and (on Linux) it gets
	// SIGTERM if the test binary dies before its cleanup ran.
	s.cmd = exec.Command(apacheBin, "-f", s.conf, "-k", "start", "-D", "FOREGROUND")
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = stderr, stderr
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %v", apacheBin, err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()

	d := &DAV{
		URL:      fmt.Sprintf("http://127.0.0.1:%d/remote.php/dav/files/%s/", port, userName),
		User:     userName,
		Password: password,
		Root:     filepath.Join(dir, "dav", userName),
	}
	if err := s.waitReady(d); err != nil {
		s.stop()
		logs := s.logTail()
		if strings.Contains(logs, "Address already in use") {
			return nil, fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return nil, fmt.Errorf("apache2 did not start: %v\n%s", err, logs)
	}
	cleanDir = false
	s.stopAtCleanup(t, d.URL, dir)
	return d, nil
}

// makeRoot makes a ServerRoot that www-data can traverse (t.TempDir is 0700),
// with logs/, and lock/ and dav/<user> owned by www-data.
func makeRoot(userName string) (string, error) {
	base := os.TempDir()
	if !traversable(base) || strings.ContainsAny(base, " \t\"'\\#") {
		base = "/tmp" // the config names paths unquoted
	}
	dir, err := os.MkdirTemp(base, "siirto-apache-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	for _, d := range []string{"logs", "lock", filepath.Join("dav", userName)} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	if os.Geteuid() == 0 { // as another user Apache keeps running as that user
		uid, gid, err := lookupUser("www-data")
		if err == nil {
			for _, d := range []string{"lock", "dav", filepath.Join("dav", userName)} {
				if err = os.Chown(filepath.Join(dir, d), uid, gid); err != nil {
					break
				}
			}
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("www-data: %v", err)
		}
	}
	return dir, nil
}

func lookupUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, err
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, err
	}
	return uid, gid, nil
}

// traversable reports whether every folder from / down to dir lets others in.
func traversable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady waits until an authenticated PROPFIND on the URL answers 207.
func (s *server) waitReady(d *DAV) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(startWait)
	last := errors.New("no answer yet")
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%s exited: %v", s.name, s.err)
		default:
		}
		req, err := http.NewRequest("PROPFIND", d.URL, nil)
		if err != nil {
			return err
		}
		req.SetBasicAuth(d.User, d.Password)
		req.Header.Set("Depth", "0")
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusMultiStatus {
				return nil
			}
			last = fmt.Errorf("PROPFIND %s: %s", d.URL, resp.Status)
		} else {
			last = err
		}
		select {
		case <-s.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready after %v: %v", startWait, last)
}

// stop asks the server to stop (Apache by apache2 -k stop, which signals
// the pid in PidFile; others by SIGTERM) and waits for it to exit, killing
// it if it does not.
func (s *server) stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	var (
		out     []byte
		stopErr error
	)
	if s.conf != "" {
		ctx, cancel := context.WithTimeout(context.Background(), stopWait)
		defer cancel()
		out, stopErr = exec.CommandContext(ctx, apacheBin, "-f", s.conf, "-k", "stop").CombinedOutput()
	}
	if s.conf == "" || stopErr != nil { // for Apache: no pid file yet, say
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(stopWait):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	if stopErr != nil {
		return fmt.Errorf("apache2 -k stop: %v: %s; killed it after %v", stopErr, bytes.TrimSpace(out), stopWait)
	}
	return fmt.Errorf("%s was still running %v after it was asked to stop: killed it", s.name, stopWait)
}

// logTail is the end of Apache's error log and of what a server printed itself.
func (s *server) logTail() string {
	var b strings.Builder
	for _, name := range []string{"stderr.log", "error.log"} {
		data, err := os.ReadFile(filepath.Join(s.dir, "logs", name))
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 20 {
			lines = lines[len(lines)-20:]
		}
		fmt.Fprintf(&b, "--- logs/%s (end):\n%s\n", name, strings.Join(lines, "\n"))
	}
	if b.Len() == 0 {
		return "(" + s.name + " logged nothing)"
	}
	return b.String()
}

// findTemplate reads TemplatePath from the nearest folder up from the
// working directory (a test's is its package folder) that has it.
func findTemplate() ([]byte, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(TemplatePath)))
		if err == nil {
			return data, nil
		}
		if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr == nil {
			return nil, fmt.Errorf("%s: %v", TemplatePath, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("%s not found above the working directory", TemplatePath)
		}
		dir = parent
	}
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	return hex.EncodeToString(b)
}
