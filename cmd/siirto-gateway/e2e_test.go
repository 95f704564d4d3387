package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/siirto/siirto/gateway"
	"github.com/siirto/siirto/gateway/notify"
	"github.com/siirto/siirto/internal/testserver"
	"github.com/siirto/siirto/verify"
)

const (
	journal = "THL/1234/14.02.00/2023"
	folder  = "THL_1234_14.02.00_2023"
)

// binaries builds siirto and siirto-gateway once per test binary.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "siirto-gateway-e2e-bin-")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "build", "-o", dir+"/", "../siirto", ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, nil
})

func bin(t testing.TB, name string) string {
	t.Helper()
	dir, err := binaries()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// syncBuffer is a log that the gateway writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// webhookSink is a real HTTP receiver on 127.0.0.1 that checks signatures.
type webhookSink struct {
	*httptest.Server
	secret []byte
	mu     sync.Mutex
	got    []notify.Payload
	at     []time.Time // when each of got arrived
	bad    int
}

func newWebhookSink(t testing.TB) *webhookSink {
	w := &webhookSink{secret: []byte("webhook-secret-for-tests-0123456789")}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		defer w.mu.Unlock()
		if err := notify.VerifySignature(w.secret, r.Header.Get(notify.HeaderTimestamp), body, r.Header.Get(notify.HeaderSignature), time.Minute); err != nil {
			w.bad++
			http.Error(rw, err.Error(), http.StatusUnauthorized)
			return
		}
		var p notify.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			w.bad++
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.got = append(w.got, p)
		w.at = append(w.at, time.Now())
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webhookSink) deliveries() ([]notify.Payload, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]notify.Payload(nil), w.got...), w.bad
}

// gw is a data folder and, while started, its serving process.
type gw struct {
	t    testing.TB
	dir  string
	env  []string
	cmd  *exec.Cmd
	log  *syncBuffer
	url  string
	mail *testserver.Sink
	hook *webhookSink
}

func newGateway(t testing.TB, extraEnv ...string) *gw { return newWorker(t, nil, extraEnv...) }

// newWorker makes a gateway; with first, a further worker beside it: the
// same keys (copied before the journal is opened, so the receipt key it
// publishes is the shared one) and the same mail and webhook receivers.
func newWorker(t testing.TB, first *gw, extraEnv ...string) *gw {
	t.Helper()
	g := &gw{t: t, dir: filepath.Join(t.TempDir(), "gw")}
	if first != nil {
		g.mail, g.hook = first.mail, first.hook
	} else {
		g.mail = testserver.SMTPSink(t)
		g.hook = newWebhookSink(t)
	}
	secret := filepath.Join(t.TempDir(), "webhook.secret")
	if err := os.WriteFile(secret, g.hook.secret, 0o600); err != nil {
		t.Fatal(err)
	}
	g.env = append(os.Environ(),
		"SIIRTO_GATEWAY_SMTP_ADDR="+g.mail.Addr, "SIIRTO_GATEWAY_SMTP_TLS=none",
		"SIIRTO_GATEWAY_HANDLERS=kasittelija@example.fi",
		"SIIRTO_GATEWAY_WEBHOOK_URL="+g.hook.URL, "SIIRTO_GATEWAY_WEBHOOK_SECRET_FILE="+secret)
	g.env = append(g.env, extraEnv...)
	g.run("init", "--listen", "127.0.0.1:0", g.dir)
	if first != nil {
		for _, f := range []string{"keys/gateway.pub", "keys/gateway.sec", "keys/receipt.key", "keys/receipt-key.pub", "secrets/key-passphrase"} {
			data, err := os.ReadFile(filepath.Join(first.dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(g.dir, f), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	pass := filepath.Join(t.TempDir(), "alice.pass")
	if err := os.WriteFile(pass, []byte("alice-password-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Further workers share the accounts in PostgreSQL: the journal and
	// its uploader are there already.
	if first == nil {
		g.run("-d", g.dir, "journal", "add", journal, "--user", "alice", "--password-file", pass, "--lang", "fi")
	}
	return g
}

// run runs a siirto-gateway admin command and returns its output.
func (g *gw) run(args ...string) string {
	g.t.Helper()
	cmd := exec.Command(bin(g.t, "siirto-gateway"), args...)
	cmd.Env = g.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("siirto-gateway %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (g *gw) start() {
	g.t.Helper()
	os.Remove(filepath.Join(g.dir, "state", gateway.URLFile))
	g.log = &syncBuffer{}
	g.cmd = exec.Command(bin(g.t, "siirto-gateway"), "-d", g.dir, "serve")
	g.cmd.Env = g.env
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	cmd := g.cmd
	g.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(g.dir, "state", gateway.URLFile)); err == nil {
			g.url = strings.TrimSpace(string(b))
			if resp, err := http.Get(g.url + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.t.Fatalf("the gateway did not become ready:\n%s", g.log.String())
}

func (g *gw) stop() {
	g.t.Helper()
	g.cmd.Process.Signal(syscall.SIGTERM)
	if err := g.cmd.Wait(); err != nil {
		g.t.Fatalf("serve ended with %v:\n%s", err, g.log.String())
	}
}

func (g *gw) kill() {
	g.cmd.Process.Kill()
	g.cmd.Wait()
}

func (g *gw) folderURL() string {
	return g.url + "/remote.php/dav/files/alice/" + folder + "/"
}

// bundles reads the ledger through the admin command.
func (g *gw) bundles() []gateway.BundleJSON {
	g.t.Helper()
	var out []gateway.BundleJSON
	if err := json.Unmarshal([]byte(g.run("-d", g.dir, "bundle", "list", "--json")), &out); err != nil {
		g.t.Fatal(err)
	}
	return out
}

func (g *gw) waitState(state string, n int, timeout time.Duration) []gateway.BundleJSON {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		bs := g.bundles()
		count := 0
		for _, b := range bs {
			if b.State == state {
				count++
			}
		}
		if count >= n {
			return bs
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("waited %v for %d bundles %s; ledger: %+v\nlog:\n%s", timeout, n, state, bs, g.log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func siirto(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin(t, "siirto"), args...)
	cmd.Env = append(os.Environ(), "SIIRTO_LANG=en")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writePass(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(p, []byte("alice-password-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEndToEnd: the real siirto binary sends a folder over HTTP to the
// real gateway, which stages it, mails the handler (smtp-sink), calls the
// webhook, writes the receipt that siirto status accepts, and keeps an
// audit log that verifies.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs both binaries")
	}
	g := newGateway(t)
	g.start()
	data := filepath.Join(t.TempDir(), "cohort")
	os.MkdirAll(filepath.Join(data, "forms"), 0o700)
	os.WriteFile(filepath.Join(data, "persons.csv"), bytes.Repeat([]byte("1;1950;I10\n"), 50000), 0o600)
	os.WriteFile(filepath.Join(data, "forms", "consent.txt"), []byte("kept by the group\n"), 0o600)
	pass := writePass(t)
	if out, err := siirto(t, "send", "--to", g.folderURL(), "--user", "alice", "--password-file", pass,
		"--recipient", filepath.Join(g.dir, "keys", "gateway.pub"), data); err != nil {
		t.Fatalf("siirto send: %v\n%s\n%s", err, out, g.log.String())
	}
	out, err := siirto(t, "status", "--wait", "--interval", "200ms", "--timeout", "60s", "--to", g.folderURL(), "--user", "alice",
		"--password-file", pass, "--receipt-key", filepath.Join(g.dir, "keys", "receipt-key.pub"), "cohort")
	if err != nil {
		t.Fatalf("siirto status: %v\n%s\n%s", err, out, g.log.String())
	}
	bs := g.waitState("receipted", 1, 30*time.Second)
	b := bs[0]
	if b.Outcome != "accepted" || b.Files != 2 || b.Journal != journal {
		t.Fatalf("bundle %+v", b)
	}
	if out, err := exec.Command("diff", "-r", data, filepath.Join(b.Staging, "cohort")).CombinedOutput(); err != nil {
		t.Fatalf("staged files differ: %s", out)
	}
	msgs := g.mail.WaitMessages(t, 1)
	if len(msgs) != 1 || msgs[0].Header.Get("X-Siirto-Bundle") != b.ID || !strings.Contains(msgs[0].Body, b.Staging) {
		t.Fatalf("mail: %+v", msgs)
	}
	if strings.Contains(msgs[0].Body, "persons.csv") || strings.Contains(msgs[0].Body, "consent") {
		t.Fatal("the mail names files inside the bundle")
	}
	hooks, bad := g.hook.deliveries()
	if len(hooks) != 1 || bad != 0 || hooks[0].ID != b.ID || hooks[0].Event != "bundle.staged" {
		t.Fatalf("webhook deliveries %+v, %d bad", hooks, bad)
	}

	// The staff API, health and metrics.
	token, err := os.ReadFile(filepath.Join(g.dir, "secrets", "staff-token"))
	if err != nil {
		t.Fatal(err)
	}
	api := g.url + "/api/v1/journals/" + strings.ReplaceAll(journal, "/", "%2F") + "/bundles"
	if code, _ := get(t, api, ""); code != http.StatusUnauthorized {
		t.Errorf("the staff API without a token answered %d", code)
	}
	code, body := get(t, api, strings.TrimSpace(string(token)))
	if code != 200 || !strings.Contains(body, b.ID) {
		t.Errorf("staff API: %d %s", code, body)
	}
	if code, body := get(t, g.url+"/metrics", ""); code != 200 || !strings.Contains(body, `siirto_bundles{state="receipted"} 1`) ||
		!strings.Contains(body, `siirto_bundles_processed_total{code="",outcome="accepted"} 1`) {
		t.Errorf("metrics: %d\n%s", code, body)
	}
	if code, _ := get(t, g.url+"/healthz", ""); code != 200 {
		t.Errorf("healthz %d", code)
	}

	// Another journal's uploader sees nothing of alice's folder.
	bobPass := filepath.Join(t.TempDir(), "bob.pass")
	os.WriteFile(bobPass, []byte("bob-password-12345\n"), 0o600)
	g.run("-d", g.dir, "journal", "add", "2022/53", "--user", "bob", "--password-file", bobPass)
	if code := dav(t, "PROPFIND", g.url+"/remote.php/dav/files/bob/"+folder+"/", "bob", "bob-password-12345", nil); code != http.StatusNotFound {
		t.Errorf("bob listing alice's journal: %d", code)
	}
	if code := dav(t, "PROPFIND", g.folderURL(), "bob", "bob-password-12345", nil); code != http.StatusForbidden {
		t.Errorf("bob in alice's tree: %d", code)
	}
	// A completed bundle and its receipt cannot be changed by the uploader.
	if code := dav(t, "PUT", g.folderURL()+"cohort.json", "alice", "alice-password-123", []byte("{}")); code != http.StatusForbidden {
		t.Errorf("overwriting a completed bundle's manifest: %d", code)
	}
	if code := dav(t, "DELETE", g.folderURL()+"cohort.receipt.json", "alice", "alice-password-123", nil); code != http.StatusForbidden {
		t.Errorf("deleting a receipt: %d", code)
	}
	// A closed journal takes no more uploads.
	g.run("-d", g.dir, "journal", "close", journal)
	if code := dav(t, "PUT", g.folderURL()+"late.c4gh", "alice", "alice-password-123", []byte("x")); code != http.StatusForbidden {
		t.Errorf("upload into a closed journal: %d", code)
	}
	// Repeated wrong passwords get the address banned, and audited.
	last := 0
	for range 11 {
		last = dav(t, "PROPFIND", g.folderURL(), "alice", "guess", nil)
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("after 11 wrong passwords: %d", last)
	}
	g.stop()
	out = g.run("-d", g.dir, "audit", "verify")
	if !strings.Contains(out, "audit log OK") {
		t.Fatal(out)
	}
	auditLog, _ := os.ReadFile(filepath.Join(g.dir, "audit", "audit.log"))
	for _, want := range []string{`"action":"journal_add"`, `"action":"upload"`, `"action":"decrypt"`, `"action":"notify"`,
		`"action":"receipt"`, `"state":"staged"`, `"action":"journal_close"`, `"action":"login_failed"`, `"action":"ban"`, `"action":"denied"`} {
		if !bytes.Contains(auditLog, []byte(want)) {
			t.Errorf("the audit log has no %s", want)
		}
	}
	// An edit anywhere is found.
	tampered := bytes.Replace(auditLog, []byte(`"user":"alice"`), []byte(`"user":"mallory"`), 1)
	os.WriteFile(filepath.Join(g.dir, "audit", "audit.log"), tampered, 0o600)
	cmd := exec.Command(bin(t, "siirto-gateway"), "-d", g.dir, "audit", "verify")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "altered") {
		t.Fatalf("audit verify passed a tampered log: %v %s", err, out)
	}
	// Commands that only read still run on a damaged log, and report it:
	// audit verify --json and doctor say what is wrong, the ledger lists.
	var report struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	raw, err := exec.Command(bin(t, "siirto-gateway"), "-d", g.dir, "audit", "verify", "--json").Output()
	if json.Unmarshal(raw, &report) != nil || report.OK || !strings.Contains(report.Error, "altered") {
		t.Fatalf("audit verify --json on a tampered log: %v %q", err, raw)
	}
	var doc struct {
		Checks []gateway.Check `json:"checks"`
	}
	raw, _ = exec.Command(bin(t, "siirto-gateway"), "-d", g.dir, "doctor", "--json").Output()
	failed := false
	if json.Unmarshal(raw, &doc) != nil {
		t.Fatalf("doctor --json on a tampered log: %q", raw)
	}
	for _, c := range doc.Checks {
		failed = failed || (c.Name == "audit log" && c.Status == gateway.CheckFail)
	}
	if !failed {
		t.Fatalf("doctor did not fail the audit log check: %q", raw)
	}
	if len(g.bundles()) == 0 {
		t.Fatal("bundle list shows nothing on a damaged audit log")
	}
	// A command that changes something refuses to, as it could not audit it.
	cmd = exec.Command(bin(t, "siirto-gateway"), "-d", g.dir, "journal", "close", "2022/53")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("journal close ran on a damaged audit log: %s", out)
	}
}

// dav sends one WebDAV request with basic auth and returns the status.
func dav(t testing.TB, method, url, user, password string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.SetBasicAuth(user, password)
	if method == "PROPFIND" {
		req.Header.Set("Depth", "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func get(t testing.TB, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCrashDuringDecrypt kills the gateway with SIGKILL while it decrypts
// a 200 MB bundle, restarts it, and checks that the bundle ends staged
// exactly once, with no partial files, and that the handlers got exactly
// one mail and one webhook call.
func TestCrashDuringDecrypt(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: 200 MB")
	}
	g := newGateway(t, "SIIRTO_GATEWAY_WORKERS=1")
	src := filepath.Join(t.TempDir(), "big")
	os.MkdirAll(src, 0o700)
	f, err := os.Create(filepath.Join(src, "extract.bin"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, 200<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wantSum := fmt.Sprintf("%x", h.Sum(nil))
	out := t.TempDir()
	if o, err := siirto(t, "encrypt", "--store", "--recipient", filepath.Join(g.dir, "keys", "gateway.pub"),
		"--journal", filepath.Join(g.dir, "inbox", folder, "journal_number.txt"), "--out", out, src); err != nil {
		t.Fatalf("siirto encrypt: %v\n%s", err, o)
	}
	g.start()
	pass := writePass(t)
	if o, err := siirto(t, "upload", "--to", g.folderURL(), "--user", "alice", "--password-file", pass, filepath.Join(out, "big.json")); err != nil {
		t.Fatalf("siirto upload: %v\n%s", err, o)
	}
	// Decrypting: the gateway extracts into a hidden folder in staging as
	// it decrypts.
	deadline := time.Now().Add(60 * time.Second)
	for !decrypting(filepath.Join(g.dir, "staging", folder)) {
		if time.Now().After(deadline) {
			t.Fatalf("never saw the gateway decrypt:\n%s", g.log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	g.kill()
	bs := g.bundles()
	if len(bs) != 1 || bs[0].State != "verified" {
		t.Fatalf("after the kill the ledger says %+v; want one bundle still verified (killed mid-decryption)", bs)
	}
	g.start()
	bs = g.waitState("receipted", 1, 120*time.Second)
	b := bs[0]
	staged, _ := os.ReadDir(filepath.Join(g.dir, "staging", folder))
	if len(staged) != 1 || staged[0].Name() != b.ID {
		t.Fatalf("staging/%s holds %v; want exactly %s", folder, staged, b.ID)
	}
	work, _ := os.ReadDir(filepath.Join(g.dir, "staging", ".work"))
	if len(work) != 0 {
		t.Fatalf("work files left: %v", work)
	}
	got, err := os.ReadFile(filepath.Join(b.Staging, "big", "extract.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%x", sha256.Sum256(got)) != wantSum {
		t.Fatal("the staged file differs from the original")
	}
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive now
	if msgs := g.mail.Messages(t); len(msgs) != 1 {
		t.Fatalf("%d mails, want exactly 1", len(msgs))
	}
	if hooks, _ := g.hook.deliveries(); len(hooks) != 1 {
		t.Fatalf("%d webhook calls, want exactly 1", len(hooks))
	}
	g.stop()
	if out := g.run("-d", g.dir, "audit", "verify"); !strings.Contains(out, "audit log OK") {
		t.Fatal(out)
	}
}

// decrypting tells whether a hidden extraction folder is in dir, with a
// file in it that is being written.
func decrypting(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".part-") {
			var size int64
			filepath.WalkDir(filepath.Join(dir, e.Name()), func(_ string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if info, err := d.Info(); err == nil {
						size += info.Size()
					}
				}
				return nil
			})
			if size > 0 {
				return true
			}
		}
	}
	return false
}

// TestPostgresLedger: the same gateway with its ledger in PostgreSQL
// (ledger_url): a bundle sent over HTTP is staged and receipted, and after
// a restart the gateway continues from the same ledger.
func TestPostgresLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end with PostgreSQL")
	}
	pg := testserver.Postgres(t)
	g := newGateway(t, "SIIRTO_GATEWAY_LEDGER_URL="+pg.NewDatabase())
	g.start()
	data := filepath.Join(t.TempDir(), "extract")
	os.MkdirAll(data, 0o700)
	os.WriteFile(filepath.Join(data, "rows.csv"), bytes.Repeat([]byte("2;1960;E11\n"), 10000), 0o600)
	pass := writePass(t)
	if out, err := siirto(t, "send", "--to", g.folderURL(), "--user", "alice", "--password-file", pass,
		"--recipient", filepath.Join(g.dir, "keys", "gateway.pub"), data); err != nil {
		t.Fatalf("siirto send: %v\n%s\n%s", err, out, g.log.String())
	}
	if out, err := siirto(t, "status", "--wait", "--interval", "200ms", "--timeout", "60s", "--to", g.folderURL(), "--user", "alice",
		"--password-file", pass, "--receipt-key", filepath.Join(g.dir, "keys", "receipt-key.pub"), "extract"); err != nil {
		t.Fatalf("siirto status: %v\n%s\n%s", err, out, g.log.String())
	}
	bs := g.waitState("receipted", 1, 30*time.Second)
	if len(bs) != 1 || bs[0].Files != 1 {
		t.Fatalf("%+v", bs)
	}
	if _, err := os.Stat(filepath.Join(g.dir, "state", "ledger.db")); !os.IsNotExist(err) {
		t.Errorf("an SQLite ledger was made beside PostgreSQL (%v)", err)
	}
	g.stop()
	// A bundle that arrives while the gateway is down is taken after the
	// restart, which continues from the same ledger.
	if o, err := siirto(t, "--quiet", "encrypt", "--name", "second", "--recipient", filepath.Join(g.dir, "keys", "gateway.pub"),
		"--journal", filepath.Join(g.dir, "inbox", folder, "journal_number.txt"), "--out", filepath.Join(g.dir, "inbox", folder), data); err != nil {
		t.Fatalf("encrypt: %v %s", err, o)
	}
	g.start()
	if bs := g.waitState("receipted", 2, 30*time.Second); len(bs) != 2 {
		t.Fatalf("%+v", bs)
	}
	g.stop()
	if out := g.run("-d", g.dir, "audit", "verify"); !strings.Contains(out, "audit log OK") {
		t.Fatal(out)
	}
	if hooks, _ := g.hook.deliveries(); len(hooks) != 2 {
		t.Fatalf("%d webhook deliveries for 2 bundles", len(hooks))
	}
}

// TestWorkersOnS3AndPostgres: two, then three gateway workers on their
// own data folders (same keys) share one PostgreSQL ledger and one S3
// inbox; 100 bundles are uploaded concurrently, and every one is staged
// exactly once and notified exactly once.
func TestWorkersOnS3AndPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("several workers, PostgreSQL and versitygw")
	}
	pg := testserver.Postgres(t)
	for _, workers := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d-workers", workers), func(t *testing.T) { runWorkers(t, pg, workers, 100) })
	}
}

// s3Env points the AWS credential chain of the test and its children at
// the test server's keys, and nothing else.
func s3Env(t testing.TB, srv *testserver.S3Server) {
	none := filepath.Join(t.TempDir(), "no-aws-config")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey, "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
}

// workerSet makes n gateways sharing a PostgreSQL database, an S3 inbox,
// the keys of the first, and its mail and webhook receivers.
func workerSet(t testing.TB, pg *testserver.PG, srv *testserver.S3Server, n int, extra ...string) []*gw {
	shared := append(append([]string{"SIIRTO_GATEWAY_LEDGER_URL=" + pg.NewDatabase(), "SIIRTO_GATEWAY_POLL=200ms"}, s3InboxEnv(srv)...), extra...)
	var gs []*gw
	for i := range n {
		var first *gw
		if i > 0 {
			first = gs[0]
		}
		gs = append(gs, newWorker(t, first, append(shared, fmt.Sprintf("SIIRTO_GATEWAY_WORKER=w%d", i+1))...))
	}
	return gs
}

func runWorkers(t *testing.T, pg *testserver.PG, workers, n int) {
	srv := testserver.S3(t)
	s3Env(t, srv)
	gs := workerSet(t, pg, srv, workers)
	ctx := context.Background()
	store := s3Folder(t, srv)
	src, names := makeBundles(t, gs[0], "extract", n, 55000)
	for _, g := range gs {
		g.start()
	}
	// Uploaded concurrently, eight at a time, each payload before its manifest.
	uploadBundles(t, store, src, names, 8, 0)
	bs := gs[0].waitState("receipted", n, 3*time.Minute)
	for _, g := range gs {
		g.stop()
	}
	// Each worker's audit log is its own chain, and reaches the head the
	// shared ledger recorded for it.
	for _, g := range gs {
		if out := g.run("-d", g.dir, "audit", "verify"); !strings.Contains(out, "audit log OK") {
			t.Fatalf("audit verify of %s: %s", g.dir, out)
		}
	}
	staged, busy := 0, 0
	for _, g := range gs {
		entries, _ := os.ReadDir(filepath.Join(g.dir, "staging", folder))
		mine := 0
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				mine++
			}
		}
		staged += mine
		if mine > 0 {
			busy++
		}
	}
	if staged != n || len(bs) != n {
		t.Fatalf("%d staged copies and %d ledger rows for %d bundles", staged, len(bs), n)
	}
	hooks, bad := gs[0].hook.deliveries()
	ids := map[string]int{}
	for _, h := range hooks {
		ids[h.ID]++
	}
	if len(hooks) != n || len(ids) != n || bad != 0 {
		t.Fatalf("%d webhook deliveries for %d bundles (%d distinct, %d bad)", len(hooks), n, len(ids), bad)
	}
	if msgs := gs[0].mail.WaitMessages(t, n); len(msgs) != n {
		t.Fatalf("%d mails for %d bundles", len(msgs), n)
	}
	// Every receipt in S3 verifies with the key the journal folder
	// publishes, and answers its bundle.
	keyFile, err := store.Open(ctx, "receipt-key.pub")
	if err != nil {
		t.Fatal(err)
	}
	pemData, _ := io.ReadAll(keyFile)
	keyFile.Close()
	pub, err := verify.ParseReceiptKey(pemData)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		rf, err := store.Open(ctx, verify.ReceiptName(name))
		if err != nil {
			t.Fatalf("no receipt in S3 for %s: %v", name, err)
		}
		data, _ := io.ReadAll(rf)
		rf.Close()
		rc, err := verify.ParseReceipt(data, pub)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		manifest, _ := os.ReadFile(filepath.Join(src, name+".json"))
		if err := rc.For(name, manifest); err != nil || rc.Status != verify.ReceiptAccepted {
			t.Fatalf("%s: %+v %v", name, rc, err)
		}
	}
	t.Logf("%d workers: %d of them staged bundles", workers, busy)
}

// workFileOpen tells from /proc whether pid holds a plaintext work file
// (the zip of a payload read from a remote inbox) in its staging.
func workFileOpen(pid int) bool {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && strings.Contains(l, "/staging/.work/") {
			return true
		}
	}
	return false
}

// TestWorkerKilledMidBundle: a worker is killed with SIGKILL while it
// decrypts a 100 MB bundle from the S3 inbox; the other worker takes the
// bundle over when the lease runs out and stages it, once; the handlers
// are told once.
func TestWorkerKilledMidBundle(t *testing.T) {
	if testing.Short() {
		t.Skip("two workers, PostgreSQL and versitygw")
	}
	pg := testserver.Postgres(t)
	srv := testserver.S3(t)
	s3Env(t, srv)
	gs := workerSet(t, pg, srv, 2, "SIIRTO_GATEWAY_POLL=100ms", "SIIRTO_GATEWAY_LEASE=3s", "SIIRTO_GATEWAY_WORKERS=1")
	g1, g2 := gs[0], gs[1]
	src := filepath.Join(t.TempDir(), "big")
	os.MkdirAll(src, 0o700)
	f, _ := os.Create(filepath.Join(src, "extract.bin"))
	if _, err := io.CopyN(f, rand.Reader, 100<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := t.TempDir()
	if o, err := siirto(t, "--quiet", "encrypt", "--recipient", filepath.Join(g1.dir, "keys", "gateway.pub"),
		"--journal", filepath.Join(g1.dir, "inbox", folder, "journal_number.txt"), "--out", out, src); err != nil {
		t.Fatalf("encrypt: %v %s", err, o)
	}
	ctx := context.Background()
	store := s3Folder(t, srv)
	g1.start()
	for _, name := range []string{"big.c4gh", "big.json"} {
		r, _ := os.Open(filepath.Join(out, name))
		info, _ := r.Stat()
		if err := store.Put(ctx, name, r, info.Size()); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	deadline := time.Now().Add(60 * time.Second)
	for !workFileOpen(g1.cmd.Process.Pid) && !decrypting(filepath.Join(g1.dir, "staging", folder)) {
		if time.Now().After(deadline) {
			t.Fatalf("worker 1 never decrypted:\n%s", g1.log.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	g1.kill()
	if bs := g1.bundles(); len(bs) != 1 || bs[0].State != "verified" {
		t.Fatalf("after the kill: %+v; want the bundle still verified", bs)
	}
	g2.start()
	bs := g2.waitState("receipted", 1, 90*time.Second)
	g2.stop()
	if !strings.Contains(g2.log.String(), "bundle staged") {
		t.Fatal("worker 2 did not stage the bundle")
	}
	entries, _ := os.ReadDir(filepath.Join(g2.dir, "staging", folder))
	if len(entries) != 1 || entries[0].Name() != bs[0].ID {
		t.Fatalf("worker 2's staging: %v", entries)
	}
	if entries, _ := os.ReadDir(filepath.Join(g1.dir, "staging", folder)); len(entries) > 0 && !strings.HasPrefix(entries[0].Name(), ".") {
		t.Fatalf("the killed worker left a staged copy: %v", entries)
	}
	time.Sleep(300 * time.Millisecond)
	if hooks, _ := g1.hook.deliveries(); len(hooks) != 1 {
		t.Fatalf("%d webhook calls, want 1", len(hooks))
	}
	if msgs := g1.mail.Messages(t); len(msgs) != 1 {
		t.Fatalf("%d mails, want 1", len(msgs))
	}
}
