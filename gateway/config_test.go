package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), ConfigName)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) string { return "" }

func TestConfig(t *testing.T) {
	p := writeConfig(t, "listen = \"127.0.0.1:9000\"\npoll = \"500ms\"\n[smtp]\naddr = \"mail:25\"\n")
	c, err := LoadConfig(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.Poll.Duration != 500*time.Millisecond || c.SMTP.Addr != "mail:25" || c.RetentionDays != 90 || c.Dir() != filepath.Dir(p) {
		t.Fatalf("%+v", c)
	}
	env := map[string]string{"SIIRTO_GATEWAY_SMTP_ADDR": "other:587", "SIIRTO_GATEWAY_WORKERS": "3", "SIIRTO_GATEWAY_HANDLERS": "a@x.fi,b@x.fi", "SIIRTO_GATEWAY_BAN_FOR": "1h"}
	c, err = LoadConfig(p, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Addr != "other:587" || c.Workers != 3 || len(c.Handlers) != 2 || c.Ban.For.Duration != time.Hour {
		t.Fatalf("environment not applied: %+v", c)
	}
}

func TestConfigRefuses(t *testing.T) {
	for text, want := range map[string]string{
		"listen = \"0.0.0.0:8480\"\n":                      "not a loopback address",
		"listen = \"127.0.0.1:1\"\ntls_cert = \"c.pem\"\n": "go together",
		"lisen = \"127.0.0.1:1\"\n":                        "unknown setting",
		"lang = \"de\"\n":                                  "use fi, sv or en",
		"[inbox]\nevents = [\"sqs\"]\n":                    "use \"webhook\" or \"minio\"",
		"[inbox]\nevents = [\"minio\"]\n":                  "needs an S3 inbox",
		"[staging]\nurl = \"s3://b/staging/\"\n":           "needs staging.recipients",
	} {
		_, err := LoadConfig(writeConfig(t, text), noEnv)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
	// TLS makes any address acceptable.
	if _, err := LoadConfig(writeConfig(t, "listen = \"0.0.0.0:8443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n"), noEnv); err != nil {
		t.Fatal(err)
	}
}

// TestInit: a new data folder is private, its key is protected, and a
// second init is refused.
func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gw")
	res, err := Init(dir, InitOptions{Config: Defaults()})
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"", "keys", "secrets", "inbox", "staging", "state", "audit"} {
		info, err := os.Stat(filepath.Join(dir, sub))
		if err != nil || info.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v", sub, info.Mode(), err)
		}
	}
	c, err := LoadConfig(res.ConfigPath, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.loadKeys(noEnv); err != nil {
		t.Fatal(err)
	}
	if _, err := c.loadKeys(func(k string) string {
		if k == "SIIRTO_GATEWAY_PASSPHRASE" {
			return "wrong passphrase"
		}
		return ""
	}); err == nil {
		t.Fatal("the secret key opened with a wrong passphrase")
	}
	if _, err := Init(dir, InitOptions{Config: Defaults()}); err == nil {
		t.Fatal("a second init over the same folder")
	}
}
