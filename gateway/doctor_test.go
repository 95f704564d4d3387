package gateway

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/siirto/siirto/gateway/audit"
)

func statusOf(checks []Check, name string) string {
	for _, c := range checks {
		if c.Name == name {
			return c.Status
		}
	}
	return "missing"
}

// TestDoctor: a fresh gateway has no failures; a folder others can enter,
// a wrong passphrase and an edited audit log each fail their check.
func TestDoctor(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gw")
	res, err := Init(dir, InitOptions{Config: Defaults()})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	g, err := Open(context.Background(), res.ConfigPath, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	for _, c := range g.Doctor(ctx) {
		if c.Status == CheckFail {
			t.Errorf("fresh gateway: %s failed: %s", c.Name, c.Detail)
		}
	}
	os.Chmod(filepath.Join(dir, "staging"), 0o755)
	env["SIIRTO_GATEWAY_PASSPHRASE"] = "not the passphrase"
	if err := g.Audit(ctx, auditEntry("x")); err != nil {
		t.Fatal(err)
	}
	g.FlushAuditHead(ctx)
	log := filepath.Join(dir, "audit", "audit.log")
	data, _ := os.ReadFile(log)
	os.WriteFile(log, append([]byte(nil), data[:len(data)/2]...), 0o600)
	checks := g.Doctor(ctx)
	for _, name := range []string{"data folder", "keys", "audit log"} {
		if statusOf(checks, name) != CheckFail {
			t.Errorf("%s: %s, want fail (%+v)", name, statusOf(checks, name), checks)
		}
	}
}

func auditEntry(action string) audit.Entry { return audit.Entry{Actor: "test", Action: action} }

// TestDoctorStores: a remote inbox and a staging store that answer pass;
// one that does not fails, naming it.
func TestDoctorStores(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gw")
	res, err := Init(dir, InitOptions{Config: Defaults()})
	if err != nil {
		t.Fatal(err)
	}
	inbox := t.TempDir()
	os.Mkdir(filepath.Join(inbox, "THL_1_2023"), 0o700)
	env := map[string]string{
		"SIIRTO_GATEWAY_INBOX_URL":          "file://" + inbox + "/",
		"SIIRTO_GATEWAY_STAGING_URL":        "file://" + filepath.Join(t.TempDir(), "missing") + "/",
		"SIIRTO_GATEWAY_STAGING_RECIPIENTS": filepath.Join(dir, "keys", "gateway.pub"),
	}
	g, err := Open(context.Background(), res.ConfigPath, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	checks := g.Doctor(context.Background())
	if statusOf(checks, "inbox") != CheckOK || statusOf(checks, "staging store") != CheckFail {
		t.Fatalf("inbox %s, staging store %s; want ok, fail (%+v)", statusOf(checks, "inbox"), statusOf(checks, "staging store"), checks)
	}
}
