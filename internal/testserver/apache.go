// Package testserver starts real servers on 127.0.0.1 for integration tests.
//
// The servers come from Debian packages that scripts/services/install.sh
// installs; nothing here downloads anything. Each call starts a private
// server on its own port and folder, stopped by t.Cleanup, so tests (and
// packages tested in parallel) never share one.
package testserver

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TemplatePath is the Apache config template, relative to the module root.
const TemplatePath = "scripts/services/apache-webdav.conf.tmpl"

const (
	apacheBin   = "/usr/sbin/apache2"
	modDAVFS    = "/usr/lib/apache2/modules/mod_dav_fs.so"
	installHint = "run `bash scripts/services/install.sh` as root (make test does)"
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
	conf := filepath.Join(dir, "httpd.conf")
	text := strings.NewReplacer("@ROOT@", dir, "@PORT@", strconv.Itoa(port), "@USER@", userName).Replace(string(tmpl))
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	// Read by Apache's workers, which run as www-data.
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(userName+":"+string(hash)+"\n"), 0o644); err != nil {
		return nil, err
	}
	// In the foreground Apache stays our child: we wait for it directly, see
	// it die at once if its config is refused, and (on Linux) it gets
	// SIGTERM if the test binary dies before its cleanup ran.
	s, err := spawn("apache2", dir, conf, exec.Command(apacheBin, "-f", conf, "-k", "start", "-D", "FOREGROUND"))
	if err != nil {
		return nil, err
	}
	d := &DAV{
		URL:      fmt.Sprintf("http://127.0.0.1:%d/remote.php/dav/files/%s/", port, userName),
		User:     userName,
		Password: password,
		Root:     filepath.Join(dir, "dav", userName),
	}
	if err := s.waitFor(davReady(d)); err != nil {
		return nil, s.failed(err)
	}
	cleanDir = false
	s.stopAtCleanup(t, d.URL)
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

// findTemplate reads TemplatePath from the module root.
func findTemplate() ([]byte, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(root, filepath.FromSlash(TemplatePath)))
}

// davReady is a probe: an authenticated PROPFIND of the URL answers 207.
func davReady(d *DAV) func() error {
	return func() error {
		req, err := http.NewRequest("PROPFIND", d.URL, nil)
		if err != nil {
			return err
		}
		req.SetBasicAuth(d.User, d.Password)
		req.Header.Set("Depth", "0")
		return answers(req, http.StatusMultiStatus)()
	}
}
