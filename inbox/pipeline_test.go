package inbox_test

import (
	"context"
	"crypto/ed25519"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/inbox"
	corpuspkg "github.com/siirto/siirto/internal/corpus"
	"github.com/siirto/siirto/verify"
)

const corpus = "../testdata"

type expectation = corpuspkg.Expect

// journals is a map of folder to journal settings.
type journals map[string]inbox.Journal

func (j journals) Journal(_ context.Context, folder string) (inbox.Journal, error) {
	return j[folder], nil
}

// recorder keeps deliveries and audit events; the real SMTP and webhook
// channels are tested in gateway.
type recorder struct {
	mu     sync.Mutex
	sent   []string // "channel bundle state code"
	events []inbox.Event
	fail   error
}

func (r *recorder) Deliver(_ context.Context, channel string, rec inbox.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.sent = append(r.sent, channel+" "+rec.ID+" "+string(rec.State)+" "+rec.Code)
	return nil
}

func (r *recorder) audit(e inbox.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

type harness struct {
	dir     string
	cfg     inbox.Config
	ledger  *inbox.SQLite
	rec     *recorder
	pub     ed25519.PublicKey
	journal journals
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	l, err := inbox.OpenSQLite(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	key := readSecretKey(t, "authority.sec")
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{dir: dir, ledger: l, rec: &recorder{}, pub: pub, journal: journals{}}
	h.cfg = inbox.Config{
		Inbox: filepath.Join(dir, "inbox"), Staging: filepath.Join(dir, "staging"), Rejected: filepath.Join(dir, "rejected"),
		Key: &key, ReceiptKey: priv, Gateway: "test-gw",
		Ledger: l, Journals: h.journal, Deliver: h.rec, Audit: h.rec.audit,
		Retention: 90 * 24 * time.Hour, RejectedRetention: 30 * 24 * time.Hour,
	}
	return h
}

func (h *harness) pipeline(t testing.TB) *inbox.Pipeline {
	t.Helper()
	p, err := inbox.New(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readSecretKey(t testing.TB, name string) encrypt.SecretKey {
	return corpuspkg.SecretKey(t, corpus, name, nil)
}

func readPublicKey(t testing.TB, name string) encrypt.PublicKey {
	return corpuspkg.PublicKey(t, corpus, name)
}

// copyTree copies a corpus journal folder into the inbox.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

type caseInfo struct {
	name, folder, bundle string
	exp                  expectation
}

func loadCase(t testing.TB, dir string) caseInfo {
	t.Helper()
	c := caseInfo{exp: corpuspkg.ReadExpect(t, dir)}
	c.folder = filepath.Base(corpuspkg.JournalFolder(t, dir))
	files, _ := os.ReadDir(filepath.Join(dir, c.folder))
	for _, f := range files {
		n := f.Name()
		switch {
		case strings.HasSuffix(n, ".json"):
			c.bundle = strings.TrimSuffix(n, ".json")
		case strings.HasSuffix(n, ".c4gh") && c.bundle == "":
			c.bundle = strings.TrimSuffix(n, ".c4gh")
		}
	}
	c.name = filepath.Base(dir)
	return c
}

// TestCorpus takes every corpus bundle through the pipeline: good ones
// are staged with private permissions and an accepted receipt, bad ones
// are rejected with their code, nothing staged, and a rejected receipt
// carrying that code.
func TestCorpus(t *testing.T) {
	for _, kind := range []string{"good", "bad"} {
		cases, err := os.ReadDir(filepath.Join(corpus, "bundles", kind))
		if err != nil {
			t.Fatal(err)
		}
		for _, cd := range cases {
			t.Run(kind+"/"+cd.Name(), func(t *testing.T) {
				c := loadCase(t, filepath.Join(corpus, "bundles", kind, cd.Name()))
				h := newHarness(t)
				var senders []encrypt.PublicKey
				for _, s := range c.exp.Senders {
					senders = append(senders, readPublicKey(t, s))
				}
				h.journal[c.folder] = inbox.Journal{Senders: senders, Channels: []string{"email", "webhook"}}
				copyTree(t, filepath.Join(corpus, "bundles", kind, cd.Name(), c.folder), filepath.Join(h.cfg.Inbox, c.folder))
				p := h.pipeline(t)
				if err := p.Once(context.Background()); err != nil {
					t.Fatal(err)
				}
				recs, err := h.ledger.List(context.Background(), "")
				if err != nil {
					t.Fatal(err)
				}
				if c.exp.Code == verify.CodeManifestMissing {
					// No manifest, no bundle: nothing is detected yet...
					if len(recs) != 0 {
						t.Fatalf("a payload without manifest was taken: %+v", recs)
					}
					// ...until the upload counts as abandoned.
					h.cfg.OrphanAfter = time.Millisecond
					time.Sleep(5 * time.Millisecond)
					if err := h.pipeline(t).Once(context.Background()); err != nil {
						t.Fatal(err)
					}
					if recs, err = h.ledger.List(context.Background(), ""); err != nil {
						t.Fatal(err)
					}
					if _, err := os.Stat(filepath.Join(h.cfg.Inbox, c.folder, c.bundle+".c4gh")); !os.IsNotExist(err) {
						t.Errorf("the abandoned payload is still in the inbox (%v)", err)
					}
				}
				if len(recs) != 1 {
					t.Fatalf("ledger holds %d bundles, want 1", len(recs))
				}
				r := recs[0]
				if r.State != inbox.StateReceipted {
					t.Fatalf("state %s (code %s: %s), want receipted", r.State, r.Code, r.Detail)
				}
				if len(h.rec.sent) != 2 {
					t.Errorf("deliveries %q, want one per channel", h.rec.sent)
				}
				rc := readReceipt(t, h, c.folder, c.bundle)
				if c.exp.Code == "" {
					checkStaged(t, h, r)
					if rc.Status != verify.ReceiptAccepted {
						t.Fatalf("receipt %+v", rc)
					}
					manifest, err := os.ReadFile(filepath.Join(h.cfg.Inbox, c.folder, c.bundle+".json"))
					if err != nil {
						t.Fatal(err)
					}
					if err := rc.For(c.bundle, manifest); err != nil {
						t.Fatal(err)
					}
					if _, err := os.Stat(filepath.Join(h.cfg.Inbox, c.folder, c.bundle+".c4gh")); !os.IsNotExist(err) {
						t.Errorf("the accepted payload is still in the inbox (%v)", err)
					}
					return
				}
				if c.exp.Code == verify.CodeWrongKey {
					// The gateway knows its own key, so it reads from the
					// manifest, before decrypting, that it is not a recipient.
					c.exp.Code = verify.CodeRecipientMissing
				}
				if r.Outcome != inbox.OutcomeRejected || verify.Code(r.Code) != c.exp.Code {
					t.Fatalf("outcome %s code %s (%s), want rejected %s (%s)", r.Outcome, r.Code, r.Detail, c.exp.Code, c.exp.Note)
				}
				assertNothingStaged(t, h)
				if rc == nil {
					if len(c.bundle) < 200 {
						t.Fatal("no receipt")
					}
					return // an overlong name cannot carry a receipt
				}
				if rc.Status != verify.ReceiptRejected || rc.Code != c.exp.Code || rc.Advice == nil || rc.Advice.FI == "" {
					t.Fatalf("receipt %+v, want rejected %s with advice", rc, c.exp.Code)
				}
				if _, err := os.Stat(filepath.Join(h.cfg.Inbox, c.folder, c.bundle+".json")); !os.IsNotExist(err) {
					t.Errorf("the rejected manifest is still in the inbox (%v)", err)
				}
			})
		}
	}
}

func readReceipt(t *testing.T, h *harness, folder, bundle string) *verify.Receipt {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.cfg.Inbox, folder, verify.ReceiptName(bundle)))
	if os.IsNotExist(err) || (err != nil && strings.Contains(err.Error(), "file name too long")) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	rc, err := verify.ParseReceipt(data, h.pub)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func assertNothingStaged(t testing.TB, h *harness) {
	t.Helper()
	var found []string
	filepath.WalkDir(h.cfg.Staging, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			found = append(found, path)
		}
		return nil
	})
	if len(found) > 0 {
		t.Fatalf("staged files of a rejected bundle: %q", found)
	}
}

func checkStaged(t testing.TB, h *harness, r inbox.Record) {
	t.Helper()
	if r.Outcome != inbox.OutcomeAccepted || r.Staging != filepath.Join(h.cfg.Staging, r.Folder, r.ID) || r.Files == 0 {
		t.Fatalf("record %+v", r)
	}
	files := 0
	err := filepath.WalkDir(r.Staging, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != r.Files {
		t.Errorf("%d files staged, ledger says %d", files, r.Files)
	}
	if work := workLeft(t, h); len(work) != 0 {
		t.Errorf("plaintext work files left: %q", work)
	}
}
