package dav

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLitmus runs the WebDAV compliance suite litmus against a journal
// folder, as a user with the right to write there. Every test of the
// suites basic, copymove, props, http and locks must pass (warnings are
// allowed).
func TestLitmus(t *testing.T) {
	if testing.Short() {
		t.Skip("litmus: a full WebDAV compliance run")
	}
	bin, err := exec.LookPath("litmus")
	if err != nil {
		t.Fatalf("litmus is not installed (%v): run `bash scripts/services/install.sh` as root (make test does)", err)
	}
	e := newEnv(t, func(c *Config) { c.Now = nil }) // locks expire on the real clock
	suites := []string{"basic", "copymove", "props", "http", "locks"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-k", e.url("files/alice/"+shared+"/"), "alice", "pw-alice")
	cmd.Env = append(os.Environ(), "TESTS="+strings.Join(suites, " "))
	cmd.Dir = t.TempDir() // litmus writes debug.log and child.log here
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("litmus: %v\n%s", err, out)
	}
	summary := regexp.MustCompile("<- summary for `(\\w+)': of (\\d+) tests run: (\\d+) passed, (\\d+) failed")
	got := map[string]string{}
	for _, m := range summary.FindAllStringSubmatch(string(out), -1) {
		got[m[1]] = m[0]
		if m[4] != "0" {
			t.Errorf("litmus %s: %s failed", m[1], m[4])
		}
	}
	for _, s := range suites {
		if got[s] == "" {
			t.Errorf("litmus: no summary for the %s suite", s)
		} else {
			t.Log(got[s])
		}
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "WARNING") || t.Failed() && (strings.Contains(line, "FAIL") || strings.Contains(line, "SKIPPED")) {
			t.Log(line)
		}
	}
	// litmus cleans up after itself; nothing it did may reach other folders.
	if got := e.entries(bobOnly); len(got) != 1 {
		t.Errorf("another journal folder changed: %v", got)
	}
}
