package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rcloneUser is the one user of an rclone server, and the <user> in its URL.
const rcloneUser = "alice"

// Rclone starts `rclone serve webdav` for the test: a second, independent
// WebDAV implementation (Go's x/net/webdav behind rclone's VFS) at the same
// Nextcloud-shaped path as Apache, stopped by t.Cleanup. With -short it
// skips. If rclone is not installed it fails the test with a message
// naming scripts/services/install.sh.
//
// It differs from Apache where the store must not care: MKCOL of an
// existing folder answers 201 (Apache 405), a PUT into a missing folder
// 404 (Apache 409), and OPTIONS 200 even with a wrong password. Like
// Apache it has no /remote.php/dav/uploads endpoint (404).
func Rclone(t testing.TB) *DAV {
	t.Helper()
	if testing.Short() {
		t.Skip("testserver: rclone WebDAV is an integration server; skipped with -short")
	}
	bin, err := exec.LookPath("rclone")
	if err != nil {
		t.Fatalf("testserver: rclone is not installed (%v): %s", err, installHint)
	}
	return retryPort(t, func() (*DAV, error) { return startRclone(t, bin) })
}

func startRclone(t testing.TB, bin string) (*DAV, error) {
	dir, err := os.MkdirTemp("", "siirto-rclone-")
	if err != nil {
		return nil, err
	}
	cleanDir := true
	defer func() {
		if cleanDir {
			os.RemoveAll(dir)
		}
	}()
	root := filepath.Join(dir, "dav", rcloneUser)
	for _, d := range []string{filepath.Join(dir, "logs"), filepath.Join(dir, "cache"), root} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	password := randomHex(t, 16)
	stderr, err := os.Create(filepath.Join(dir, "logs", "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	s := &server{name: "rclone", dir: dir, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "webdav", root,
		"--addr", "127.0.0.1:"+strconv.Itoa(port),
		"--user", rcloneUser, "--pass", password,
		"--baseurl", "/remote.php/dav/files/"+rcloneUser,
		// Nothing from the developer's own rclone set-up takes part.
		"--config", filepath.Join(dir, "rclone.conf"), "--cache-dir", filepath.Join(dir, "cache"))
	s.cmd.Env = rcloneEnv()
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = stderr, stderr
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %v", bin, err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()

	d := &DAV{
		URL:      fmt.Sprintf("http://127.0.0.1:%d/remote.php/dav/files/%s/", port, rcloneUser),
		User:     rcloneUser,
		Password: password,
		Root:     root,
	}
	// Ready when an authenticated PROPFIND answers 207: rclone answers
	// OPTIONS 200 whatever the password, so OPTIONS proves nothing.
	if err := s.waitReady(d); err != nil {
		_ = s.stop()
		logs := s.logTail()
		if strings.Contains(strings.ToLower(logs), "address already in use") {
			return nil, fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return nil, fmt.Errorf("rclone did not start: %v\n%s", err, logs)
	}
	cleanDir = false
	s.stopAtCleanup(t, d.URL, dir)
	return d, nil
}

// rcloneEnv is the environment without RCLONE_* variables, which would
// otherwise change how the server behaves (RCLONE_VFS_CACHE_MODE, say).
func rcloneEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(strings.ToUpper(kv), "RCLONE_") {
			env = append(env, kv)
		}
	}
	return env
}
