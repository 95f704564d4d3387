package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/siirto/siirto/encrypt"
	corpuspkg "github.com/siirto/siirto/internal/corpus"
	"github.com/siirto/siirto/verify"
)

// corpus is the bundle corpus written by internal/mktestdata.
const corpus = "../testdata"

// expectation is a case's expect.json.
type expectation = corpuspkg.Expect

// loaded is a journal folder read as the gateway reads its inbox.
type loaded struct {
	bundle     verify.Bundle
	noManifest bool // a .c4gh without its .json
}

// loadFolder reads a journal folder: its name, journal_number.txt and the
// one bundle in it. The payload is read into memory (the corpus is small)
// so that each Check gets a fresh reader.
func loadFolder(t *testing.T, dir string) loaded {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var jsons, payloads []string
	for _, e := range entries {
		switch n := e.Name(); {
		case strings.HasPrefix(n, "."):
			// Hidden files are uploads in progress.
		case n == verify.JournalFile:
		case strings.HasSuffix(n, ".json"):
			jsons = append(jsons, strings.TrimSuffix(n, ".json"))
		case strings.HasSuffix(n, ".c4gh"):
			payloads = append(payloads, strings.TrimSuffix(n, ".c4gh"))
		default:
			t.Fatalf("unexpected file %s in %s", n, dir)
		}
	}
	var l loaded
	l.bundle.Folder = filepath.Base(dir)
	l.bundle.PayloadSize = -1
	switch {
	case len(jsons) == 0 && len(payloads) == 1:
		l.noManifest = true
		l.bundle.Name = payloads[0]
		return l
	case len(jsons) != 1 || len(payloads) > 1:
		t.Fatalf("%s must hold one bundle; it has manifests %q and payloads %q", dir, jsons, payloads)
	}
	l.bundle.Name = jsons[0]
	if jf, err := os.ReadFile(filepath.Join(dir, verify.JournalFile)); err == nil {
		l.bundle.JournalFile = jf
	} else if !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if l.bundle.Manifest, err = os.ReadFile(filepath.Join(dir, encrypt.ManifestName(l.bundle.Name))); err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile(filepath.Join(dir, encrypt.PayloadName(l.bundle.Name)))
	switch {
	case err == nil:
		l.bundle.Payload, l.bundle.PayloadSize = bytes.NewReader(payload), int64(len(payload))
	case !errors.Is(err, fs.ErrNotExist):
		t.Fatal(err)
	}
	return l
}

// fresh returns a copy of the bundle whose payload reader starts at the
// beginning. With stream, the payload's size is unknown (-1), as when the
// gateway reads an upload whose length it was not told.
func (l loaded) fresh(stream bool) verify.Bundle {
	b := l.bundle
	if r, ok := b.Payload.(*bytes.Reader); ok {
		data := make([]byte, r.Size())
		_, _ = r.ReadAt(data, 0)
		b.Payload = bytes.NewReader(data)
		if stream {
			b.Payload, b.PayloadSize = io.MultiReader(b.Payload), -1
		}
	}
	return b
}

// sizes names the two ways a payload is given, for subtest names.
var sizes = []struct {
	name   string
	stream bool
}{{"known-size", false}, {"stream", true}}

func readSecretKey(t *testing.T, name string, passphrase []byte) encrypt.SecretKey {
	return corpuspkg.SecretKey(t, corpus, name, passphrase)
}

func readPublicKey(t *testing.T, name string) encrypt.PublicKey {
	return corpuspkg.PublicKey(t, corpus, name)
}

func TestCorpusKeys(t *testing.T) {
	keys := map[string]encrypt.SecretKey{}
	for _, name := range []string{"authority", "sender", "other"} {
		sk := readSecretKey(t, name+".sec", nil)
		if pk := readPublicKey(t, name+".pub"); pk != sk.Public() {
			t.Errorf("%s.pub is not the public half of %s.sec", name, name)
		}
		for other, k := range keys {
			if k == sk {
				t.Errorf("%s and %s are the same key", name, other)
			}
		}
		keys[name] = sk
	}
	pass, err := os.ReadFile(filepath.Join(corpus, "keys", "passphrase.txt"))
	if err != nil {
		t.Fatal(err)
	}
	pass = bytes.TrimSpace(pass)
	if string(pass) != "siirto-test-passphrase" {
		t.Errorf("passphrase.txt holds %q", pass)
	}
	prot, err := os.ReadFile(filepath.Join(corpus, "keys", "authority-protected.sec"))
	if err != nil {
		t.Fatal(err)
	}
	if !encrypt.SecretKeyEncrypted(prot) {
		t.Error("authority-protected.sec is not protected")
	}
	if _, err := encrypt.ParseSecretKey(bytes.NewReader(prot), nil); !errors.Is(err, encrypt.ErrPassphraseRequired) {
		t.Errorf("authority-protected.sec opened without a passphrase: %v", err)
	}
	if sk := readSecretKey(t, "authority-protected.sec", pass); sk != keys["authority"] {
		t.Error("authority-protected.sec is not the authority key")
	}
}

// TestCorpus replays every case under testdata/bundles as the gateway
// would check it, and requires the case's exact outcome.
func TestCorpus(t *testing.T) {
	seen := runCorpus(t, func(kind, name string) bool { return true })
	if seen["good"] < 4 || seen["bad"] < 25 {
		t.Errorf("the corpus has %d good and %d bad cases; want at least 4 and 25", seen["good"], seen["bad"])
	}
}

// TestCorpusStrictZipPaths replays the unsafe-entry cases with archive/zip
// flagging insecure paths itself: the codes must not change with it.
func TestCorpusStrictZipPaths(t *testing.T) {
	t.Setenv("GODEBUG", "zipinsecurepath=0")
	seen := runCorpus(t, func(kind, name string) bool { return kind == "bad" && strings.HasPrefix(name, "entry-") })
	if seen["bad"] == 0 {
		t.Error("no entry-* cases in the corpus")
	}
}

// runCorpus checks the cases that want selects and counts them by kind.
func runCorpus(t *testing.T, want func(kind, name string) bool) map[string]int {
	key := readSecretKey(t, "authority.sec", nil)
	// Check keeps the decrypted zip in a temporary file; pointing TMPDIR at
	// a folder of our own lets each case prove that nothing was left.
	tmpdir := t.TempDir()
	t.Setenv("TMPDIR", tmpdir)

	seen := map[string]int{}
	for _, kind := range []string{"good", "bad"} {
		cases, err := os.ReadDir(filepath.Join(corpus, "bundles", kind))
		if err != nil {
			t.Fatalf("%v (run make testdata)", err)
		}
		for _, c := range cases {
			if !want(kind, c.Name()) {
				continue
			}
			caseDir := filepath.Join(corpus, "bundles", kind, c.Name())
			seen[kind]++
			t.Run(kind+"/"+c.Name(), func(t *testing.T) {
				exp := corpuspkg.ReadExpect(t, caseDir)
				var senders []encrypt.PublicKey
				for _, s := range exp.Senders {
					senders = append(senders, readPublicKey(t, s))
				}
				l := loadFolder(t, corpuspkg.JournalFolder(t, caseDir))
				if kind == "good" {
					checkGood(t, l, exp, key, senders)
				} else {
					checkBad(t, l, exp, key, senders)
				}
				if leftovers := plaintextLeft(t, tmpdir); len(leftovers) > 0 {
					t.Errorf("decrypted plaintext left behind: %q", leftovers)
				}
			})
		}
	}
	return seen
}

func checkGood(t *testing.T, l loaded, exp expectation, key encrypt.SecretKey, senders []encrypt.PublicKey) {
	if exp.Code != "" || exp.NeedsKey {
		t.Fatalf("a good case expects code %q, needs_key %v", exp.Code, exp.NeedsKey)
	}
	if l.noManifest {
		t.Fatal("a good case lacks its manifest")
	}
	for _, size := range sizes {
		t.Run(size.name, func(t *testing.T) {
			if _, err := verify.Check(context.Background(), l.fresh(size.stream), verify.Options{Senders: senders}); err != nil {
				t.Fatalf("without a key: %v", err)
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			res, err := verify.Check(context.Background(), l.fresh(size.stream), verify.Options{Key: &key, Senders: senders, ExtractTo: out})
			if err != nil {
				t.Fatalf("with the key: %v", err)
			}
			checkExtracted(t, l, res, out)
			noPartials(t, dir)
		})
	}
}

// checkExtracted compares the extracted tree with what Check read: the
// same files, the same bytes, and private permissions.
func checkExtracted(t *testing.T, l loaded, res *verify.Result, out string) {
	t.Helper()
	if !res.Decrypted || len(res.Files) == 0 {
		t.Fatalf("decrypted %v, %d files", res.Decrypted, len(res.Files))
	}
	want, err := verify.JournalFromFolder(l.bundle.Folder)
	if err != nil || res.Journal != want {
		t.Errorf("journal %q, folder says %q (%v)", res.Journal, want, err)
	}
	for _, f := range res.Files {
		data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Errorf("extracted file: %v", err)
			continue
		}
		sum := sha256.Sum256(data)
		if int64(len(data)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s on disk differs from what was checked", f.Path)
		}
	}
	files := 0
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		// Windows has no Unix permission bits to check.
		noPerms := runtime.GOOS == "windows"
		switch mode := info.Mode(); {
		case mode.IsDir() && mode.Perm() != 0o700 && !noPerms:
			t.Errorf("folder %s has mode %v, want 0700", p, mode.Perm())
		case mode.IsRegular():
			files++
			if mode.Perm() != 0o600 && !noPerms {
				t.Errorf("file %s has mode %v, want 0600", p, mode.Perm())
			}
		case !mode.IsDir():
			t.Errorf("%s is neither a file nor a folder (%v)", p, mode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != len(res.Files) {
		t.Errorf("%d files on disk, %d checked", files, len(res.Files))
	}
}

func checkBad(t *testing.T, l loaded, exp expectation, key encrypt.SecretKey, senders []encrypt.PublicKey) {
	if exp.Code == "" {
		t.Fatal("a bad case expects no code")
	}
	if verify.Lookup(exp.Code).Code != exp.Code {
		t.Fatalf("expect.json names %s, which is not a documented code", exp.Code)
	}
	if l.noManifest {
		// The gateway sees a payload whose manifest never arrived.
		if exp.Code != verify.CodeManifestMissing {
			t.Fatalf("a .c4gh without a .json must expect %s, not %s", verify.CodeManifestMissing, exp.Code)
		}
		return
	}
	// The verdict must not depend on whether the payload's size is known.
	for _, size := range sizes {
		t.Run(size.name, func(t *testing.T) {
			_, err := verify.Check(context.Background(), l.fresh(size.stream), verify.Options{Senders: senders})
			if exp.NeedsKey {
				// needs_key is a claim: the defect is invisible without the key.
				if err != nil {
					t.Fatalf("needs_key, yet the keyless check fails: %v", err)
				}
			} else if got := verify.CodeOf(err); got != exp.Code {
				t.Fatalf("without a key: %s (%v), want %s", got, err, exp.Code)
			}
			// The gateway always has the key; it must reach the same
			// verdict and extract nothing.
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			res, err := verify.Check(context.Background(), l.fresh(size.stream), verify.Options{Key: &key, Senders: senders, ExtractTo: out})
			if got := verify.CodeOf(err); got != exp.Code {
				t.Fatalf("with the key: %s (%v), want %s", got, err, exp.Code)
			}
			if res != nil && res.Decrypted && !isZipCode(exp.Code) {
				t.Errorf("refused with %s after reporting a full decryption", exp.Code)
			}
			if _, err := os.Lstat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the refused bundle was extracted to %s (%v)", out, err)
			}
			noPartials(t, dir)
		})
	}
}

// isZipCode reports whether c is found after the plaintext checksum
// matched, when Result.Decrypted is rightly true.
func isZipCode(c verify.Code) bool {
	switch c {
	case verify.CodeEntryInvalid, verify.CodeEntryDuplicate, verify.CodeEntrySymlink, verify.CodeZipEncrypted,
		verify.CodeZipInvalid, verify.CodeZipBomb, verify.CodeListingInvalid, verify.CodeListingMismatch:
		return true
	}
	return false
}

// noPartials fails if dir holds anything but the extraction folder: a
// left-over ".out.part-*" folder would hold plaintext nobody cleans up.
func noPartials(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "out" {
			t.Errorf("left behind in the extraction parent: %s", e.Name())
		}
	}
}
