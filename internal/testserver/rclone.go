package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	find := func() (string, error) { return exec.LookPath("rclone") }
	return launch(t, "rclone", find, installHint, startRclone)
}

func startRclone(t testing.TB, bin, dir string) (*DAV, error) {
	root := filepath.Join(dir, "dav", rcloneUser)
	for _, d := range []string{filepath.Join(dir, "cache"), root} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d := &DAV{
		URL:      fmt.Sprintf("http://127.0.0.1:%d/remote.php/dav/files/%s/", port, rcloneUser),
		User:     rcloneUser,
		Password: randomHex(t, 16),
		Root:     root,
	}
	cmd := exec.Command(bin, "serve", "webdav", root,
		"--addr", "127.0.0.1:"+strconv.Itoa(port),
		"--user", d.User, "--pass", d.Password,
		"--baseurl", "/remote.php/dav/files/"+rcloneUser,
		// Nothing from the developer's own rclone set-up takes part.
		"--config", filepath.Join(dir, "rclone.conf"), "--cache-dir", filepath.Join(dir, "cache"))
	cmd.Env = envWithout("RCLONE_")
	s, err := spawn("rclone", dir, "", cmd)
	if err != nil {
		return nil, err
	}
	// Ready when an authenticated PROPFIND answers 207: rclone answers
	// OPTIONS 200 whatever the password, so OPTIONS proves nothing.
	if err := s.waitFor(davReady(d)); err != nil {
		return nil, s.failed(err)
	}
	s.stopAtCleanup(t, d.URL)
	return d, nil
}
