package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// e2eDir holds the browser tests (app/e2e); scripts/browser.sh installs
// Debian's chromium and their npm packages.
var e2eDir, _ = filepath.Abs("../../app/e2e")

// startApp runs siirto app as a user would (no browser of its own) and
// returns the address it printed, token included.
func startApp(t *testing.T, home string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin(t, "siirto"), append([]string{"--json", "app", "--no-browser", "--window-grace", "2s"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("siirto app's log:\n%s", log.String())
		}
	})
	var first struct{ URL string }
	if err := json.NewDecoder(bufio.NewReader(out)).Decode(&first); err != nil || first.URL == "" {
		t.Fatalf("siirto app printed no address: %v\n%s", err, log.String())
	}
	return cmd, first.URL
}

// TestAppInBrowser drives siirto app in Debian's chromium through
// playwright-core, in Finnish, Swedish and English, against a real
// gateway: every bundle must be staged byte for byte and receipted, the
// app's own copies deleted on request, every screen free of serious
// axe-core violations, and the app must stop once its window is gone.
func TestAppInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: runs chromium, the gateway and the app")
	}
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed: run bash scripts/browser.sh (make test does): %v", err)
	}
	g := newGateway(t)
	g.run("-d", g.dir, "journal", "add", "2022/53", "--user", "alice")
	g.start()

	data := filepath.Join(t.TempDir(), "kohortti")
	os.MkdirAll(filepath.Join(data, "lomakkeet"), 0o700)
	os.WriteFile(filepath.Join(data, "henkilöt.csv"), []byte(strings.Repeat("1;1950;I10\n", 40000)), 0o600)
	os.WriteFile(filepath.Join(data, "lomakkeet", "suostumus.txt"), []byte("säilytetään ryhmällä\n"), 0o600)
	os.WriteFile(filepath.Join(data, ".DS_Store"), []byte("clutter"), 0o600)
	outDir := t.TempDir()
	home := t.TempDir()
	appCmd, appURL := startApp(t, home, "--recipient", filepath.Join(g.dir, "keys", "gateway.pub"), "--out", outDir)

	// The app's locks, against the real binary (the unit tests have more).
	base, _, _ := strings.Cut(appURL, "/?token=")
	for _, c := range []struct {
		name, method, host, origin string
		token                      bool
	}{
		{"no token", "GET", "", "", false},
		{"wrong Host", "GET", "evil.example:80", "", true},
		{"cross-origin POST", "POST", "", "http://evil.example", true},
	} {
		u := base + "/api/state"
		if c.token {
			u = appURL
		}
		req, _ := http.NewRequest(c.method, u, nil)
		if c.host != "" {
			req.Host = c.host
		}
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", c.name, resp.StatusCode)
		}
	}

	artifacts := os.Getenv("SIIRTO_ARTIFACTS")
	if artifacts == "" {
		artifacts, _ = filepath.Abs("../../.artifacts/screenshots")
	}
	node := exec.Command("node", filepath.Join(e2eDir, "flow.mjs"))
	node.Env = append(os.Environ(), "APP_URL="+appURL,
		"DAV_ROOT="+g.url+"/remote.php/dav/files/alice/", "BAD_FOLDER="+g.url+"/remote.php/dav/files/alice/NO_SUCH_FOLDER/",
		"DAV_USER=alice", "DAV_PASSWORD=alice-password-123", "DATA_DIR="+data, "OUT_DIR="+outDir,
		"JOURNAL="+journal, "SIIRTO_ARTIFACTS="+artifacts)
	var stderr syncBuffer
	node.Stderr = &stderr
	out, err := node.Output()
	if err != nil {
		t.Fatalf("the browser flow failed: %v\n%s\ngateway log:\n%s", err, stderr.String(), g.log.String())
	}
	var summary struct {
		Sent, Offline, Screenshots []string
		A11yMinor                  int `json:"a11y_minor"`
	}
	if err := json.Unmarshal(out, &summary); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("screenshots in %s (%d); minor axe findings: %d", artifacts, len(summary.Screenshots), summary.A11yMinor)
	if len(summary.Sent) != 3 || len(summary.Offline) != 3 {
		t.Fatalf("flow summary: %+v", summary)
	}

	// On the gateway: every bundle staged, byte for byte the folder
	// (without the desktop clutter the app left out).
	os.Remove(filepath.Join(data, ".DS_Store"))
	bundles := g.waitState("receipted", 3, 30*time.Second)
	for _, b := range bundles {
		if b.Journal != journal {
			t.Errorf("%s went to %s", b.Name, b.Journal)
		}
		if out, err := exec.Command("diff", "-r", data, filepath.Join(b.Staging, "kohortti")).CombinedOutput(); err != nil {
			t.Errorf("%s: staged files differ from the sent folder: %v\n%s", b.Name, err, out)
		}
	}
	// The app's encrypted copies were deleted with the clean-up button.
	// Its folder for them must exist, or the check below would prove
	// nothing.
	if left, err := os.ReadDir(filepath.Join(home, ".cache", "siirto", "app")); err != nil {
		t.Errorf("the app kept its copies somewhere else: %v", err)
	} else if len(left) != 0 {
		t.Errorf("the app's copies are still there after the clean-up: %v", left)
	}
	// "Encrypt only" wrote bundles the gateway's rules accept.
	for _, name := range summary.Offline {
		if out, err := siirto(t, "verify", "--recipient", filepath.Join(g.dir, "keys", "gateway.pub"), filepath.Join(outDir, name+".json")); err != nil {
			t.Errorf("siirto verify %s: %v\n%s", name, err, out)
		}
	}
	// The window is gone: the app stops by itself.
	done := make(chan error, 1)
	go func() { done <- appCmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("siirto app ended with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("siirto app still runs 20 s after its window closed")
	}
}
