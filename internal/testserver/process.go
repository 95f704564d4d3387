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
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What every server here shares: a process in a private folder, its
// output in logs/stderr.log, readiness by polling, a stop that escalates
// to a kill, and a retry when the free port it picked was taken meanwhile.

const (
	startWait = 10 * time.Second
	stopWait  = 10 * time.Second
)

var errPortTaken = errors.New("port taken")

// server is one server process (Apache, rclone, MinIO, versitygw,
// PostgreSQL) and its folder.
type server struct {
	name string // for messages: "apache2", "rclone", …
	dir  string // its private folder, with logs/
	conf string // Apache's httpd.conf; "" for servers stopped by a signal
	// stopSignal asks the server to stop when conf is ""; 0 is SIGTERM.
	stopSignal syscall.Signal
	cmd        *exec.Cmd
	done       chan struct{} // closed when cmd has exited
	err        error         // cmd.Wait's result, once done is closed
}

// launch is how every server but Apache starts: skip under -short, find
// the binary or fail the test naming how to install it, and start it in a
// fresh folder, trying another port if the one picked was taken meanwhile.
// A folder whose start failed is removed; stopAtCleanup removes the others.
func launch[T any](t testing.TB, name string, find func() (string, error), hint string, start func(t testing.TB, bin, dir string) (T, error)) T {
	t.Helper()
	if testing.Short() {
		t.Skipf("testserver: %s is an integration server; skipped with -short", name)
	}
	bin, err := find()
	if err != nil {
		t.Fatalf("testserver: %s is not installed (%v): %s", name, err, hint)
	}
	return retryPort(t, func() (T, error) {
		var zero T
		dir, err := os.MkdirTemp("", "siirto-"+name+"-")
		if err != nil {
			return zero, err
		}
		if err := os.Mkdir(filepath.Join(dir, "logs"), 0o700); err != nil {
			os.RemoveAll(dir)
			return zero, err
		}
		v, err := start(t, bin, dir)
		if err != nil {
			os.RemoveAll(dir)
		}
		return v, err
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

// spawn starts cmd as the server name in dir, which has logs/: its output
// goes to logs/stderr.log. conf is Apache's httpd.conf, or "".
func spawn(name, dir, conf string, cmd *exec.Cmd) (*server, error) {
	s := &server{name: name, dir: dir, conf: conf}
	if err := s.start(cmd); err != nil {
		return nil, err
	}
	return s, nil
}

// start runs cmd as s's process, in s.dir, its output appended to
// logs/stderr.log: a restart (after stop) keeps the earlier log, and the
// same *server, so that stopAtCleanup stops the new process. cmd's own
// SysProcAttr, if any, is kept (PostgreSQL's switches user).
func (s *server) start(cmd *exec.Cmd) error {
	out, err := os.OpenFile(filepath.Join(s.dir, "logs", "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = sysProcAttr()
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	s.cmd, s.done, s.err = cmd, done, nil
	go func() { s.err = cmd.Wait(); close(done) }()
	return nil
}

// failed stops a server that did not get ready and says why. A port taken
// meanwhile becomes errPortTaken, so retryPort tries another.
func (s *server) failed(err error) error {
	_ = s.stop()
	logs := s.logTail()
	if strings.Contains(strings.ToLower(logs), "already in use") {
		return fmt.Errorf("%w: %v", errPortTaken, err)
	}
	return fmt.Errorf("%s did not start: %v\n%s", s.name, err, logs)
}

// waitFor calls probe until it succeeds, the server exits, or startWait passes.
func (s *server) waitFor(probe func() error) error {
	deadline := time.Now().Add(startWait)
	last := errors.New("no answer yet")
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%s exited: %v", s.name, s.err)
		default:
		}
		if last = probe(); last == nil {
			return nil
		}
		select {
		case <-s.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready after %v: %v", startWait, last)
}

// probeClient sends the HTTP probes: a short timeout, and a fresh
// connection each time, so that no half-started server's is reused.
var probeClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// answers is a probe: req must be answered with status want.
func answers(req *http.Request, want int) func() error {
	return func() error {
		resp, err := probeClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
		}
		return nil
	}
}

// stop asks the server to stop (Apache by apache2 -k stop, which signals
// the pid in PidFile; others by stopSignal) and waits for it to exit,
// killing it if it does not.
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
		sig := s.stopSignal
		if sig == 0 {
			sig = syscall.SIGTERM
		}
		_ = s.cmd.Process.Signal(sig)
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

// stopAtCleanup stops the server when the test ends, shows its log if
// the test failed, and removes its folder.
func (s *server) stopAtCleanup(t testing.TB, url string) {
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("testserver: stopping %s: %v", s.name, err)
		}
		if t.Failed() {
			t.Logf("testserver: %s log (%s):\n%s", s.name, url, s.logTail())
		}
		if err := os.RemoveAll(s.dir); err != nil {
			t.Errorf("testserver: %v", err)
		}
	})
}

// logTail is the end of what a server printed itself, and of Apache's error log.
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	return hex.EncodeToString(b)
}

// moduleRoot is the nearest folder up from the working directory (a
// test's is its package folder) with a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// findTool looks for rel (a path like VersityGWBin) under the module
// root, then for name on PATH.
func findTool(rel, name string) (string, error) {
	if root, err := moduleRoot(); err == nil {
		bin := filepath.Join(root, filepath.FromSlash(rel))
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("not in %s nor on PATH", rel)
	}
	return bin, nil
}

// envWithout is the environment without variables starting with any of
// prefixes (case-insensitive): a developer's own settings for a server
// (RCLONE_*, MINIO_*) must not change how it behaves in tests.
func envWithout(prefixes ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		keep := true
		for _, p := range prefixes {
			keep = keep && !strings.HasPrefix(strings.ToUpper(kv), p)
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}
