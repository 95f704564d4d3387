// Command mktestdata writes the test keys and the corpus of good and bad
// bundles under testdata/ (see testdata/README.md):
//
//	go run ./internal/mktestdata -out testdata
//
// Good bundles are written by encrypt.WriteBundle, as the client writes
// them. Bad bundles are crafted: each breaks exactly one rule, so that
// verify.Check must refuse it with one specific error code, which the
// case's expect.json names. verify/corpus_test.go replays them all.
//
// The secret keys are derived from fixed strings, so regenerating keeps
// the key files (and their fingerprints) stable; they protect nothing and
// must never be used for real data. The bundles change on every run:
// data keys and nonces are random, as they must be.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// Passphrase protects keys/authority-protected.sec; it is also written to
// keys/passphrase.txt for the tests.
const Passphrase = "siirto-test-passphrase"

// The journal numbers used, in the two shapes the authority issues.
const (
	journal    = "THL/1234/14.02.00/2023"
	journalApp = "2022/53"
)

// created is every crafted manifest's creation time, so that only what a
// case means to break differs from a good bundle.
var created = time.Date(2023, 5, 17, 9, 30, 0, 0, time.UTC)

var tool = encrypt.Tool{Name: "siirto", Version: "0.0.0-testdata"}

func main() {
	out := flag.String("out", "testdata", "`folder` to write keys/ and bundles/ into; both are replaced")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mktestdata:", err)
		os.Exit(1)
	}
}

// Expect is a case's expect.json: what verify.Check must report.
type Expect struct {
	// Code is the error code a bad case must fail with; empty for good cases.
	Code verify.Code `json:"code,omitempty"`
	// NeedsKey is true when the defect is visible only after decryption:
	// the case passes without a key and fails with authority.sec.
	NeedsKey bool `json:"needs_key"`
	// Senders are key files (in keys/) to register as the only senders.
	Senders []string `json:"senders,omitempty"`
	// Note says what the case is, for a person reading a failure.
	Note string `json:"note"`
}

type generator struct {
	out  string
	work string // scratch folder for the files that are packed

	authority, sender, other          encrypt.SecretKey
	authorityPub, senderPub, otherPub encrypt.PublicKey

	packed []byte // a zip as Pack writes it, ending with the listing
	ready  []byte // a zip made by another tool: no listing
	cases  []string
}

func run(out string) error {
	work, err := os.MkdirTemp("", "mktestdata-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// Regenerating replaces everything, so a renamed case leaves no stale
	// folder behind; README.md beside them is kept.
	for _, d := range []string{"keys", "bundles"} {
		if err := os.RemoveAll(filepath.Join(out, d)); err != nil {
			return err
		}
	}
	g := &generator{out: out, work: work}
	if err := g.writeKeys(); err != nil {
		return err
	}
	if err := g.makeZips(); err != nil {
		return err
	}
	if err := g.goodCases(); err != nil {
		return err
	}
	if err := g.badCases(); err != nil {
		return err
	}
	fmt.Printf("mktestdata: wrote keys and %d bundle cases to %s\n", len(g.cases), out)
	return nil
}

// testKey derives a fixed secret key from name. Any 32 bytes are an
// X25519 secret key (the scalar is clamped when used).
func testKey(name string) encrypt.SecretKey {
	return encrypt.SecretKey(sha256.Sum256([]byte("siirto testdata key, not secret: " + name)))
}

func (g *generator) writeKeys() error {
	dir := filepath.Join(g.out, "keys")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	g.authority, g.sender, g.other = testKey("authority"), testKey("sender"), testKey("other")
	g.authorityPub, g.senderPub, g.otherPub = g.authority.Public(), g.sender.Public(), g.other.Public()
	for _, k := range []struct {
		name string
		sk   encrypt.SecretKey
	}{{"authority", g.authority}, {"sender", g.sender}, {"other", g.other}} {
		var pub, sec bytes.Buffer
		if err := encrypt.WritePublicKey(&pub, k.sk.Public()); err != nil {
			return err
		}
		if err := encrypt.WriteSecretKey(&sec, k.sk, nil); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, k.name+".pub"), pub.Bytes()); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, k.name+".sec"), sec.Bytes()); err != nil {
			return err
		}
	}
	var prot bytes.Buffer
	if err := encrypt.WriteSecretKey(&prot, g.authority, []byte(Passphrase)); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "authority-protected.sec"), prot.Bytes()); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "passphrase.txt"), []byte(Passphrase+"\n"))
}

// sampleFiles are synthetic: no real person is in them.
var sampleFiles = map[string]string{
	"cohort/data.csv":       "id,birth_year,diagnosis\n1,1970,I10\n2,1985,E11\n3,1992,J45\n",
	"cohort/codebook.txt":   "id: pseudonymous row number\nbirth_year: year\ndiagnosis: ICD-10 code\n",
	"cohort/forms/notes.md": "# Data description\n\nSynthetic rows for tests.\n",
}

// makeZips writes the sample files and makes the two plaintext shapes:
// a Pack zip with its listing, and a ready zip without one.
func (g *generator) makeZips() error {
	for name, body := range sampleFiles {
		p := filepath.Join(g.work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			return err
		}
	}
	files, err := g.plan()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := encrypt.Pack(context.Background(), &buf, files, encrypt.PackOptions{}); err != nil {
		return err
	}
	g.packed = buf.Bytes()
	var entries []entry
	for _, name := range sortedKeys(sampleFiles) {
		entries = append(entries, entry{name: name, body: sampleFiles[name]})
	}
	g.ready, err = makeZip(entries...)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(g.work, "ready.zip"), g.ready, 0o600)
}

func (g *generator) plan() ([]encrypt.Source, error) {
	files, _, err := encrypt.Plan([]string{filepath.Join(g.work, "cohort")})
	return files, err
}

// caseDir makes kind/name/FOLDER and returns it, FOLDER being the journal
// folder the case's bundle lies in.
func (g *generator) caseDir(kind, name, folder string, e Expect) (string, error) {
	dir := filepath.Join(g.out, "bundles", kind, name)
	if err := os.MkdirAll(filepath.Join(dir, folder), 0o755); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(dir, "expect.json"), append(data, '\n')); err != nil {
		return "", err
	}
	g.cases = append(g.cases, kind+"/"+name)
	return filepath.Join(dir, folder), nil
}

func folderOf(j string) string {
	f, err := verify.FolderName(j)
	if err != nil {
		panic(err) // the journal numbers above are constants
	}
	return f
}

func (g *generator) goodCases() error {
	files, err := g.plan()
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name, bundle, journal string
		opts                  encrypt.BundleOptions
		expect                Expect
	}{
		{"packed-folder", "cohort", journal,
			encrypt.BundleOptions{Files: files, Recipients: []encrypt.PublicKey{g.authorityPub}},
			Expect{Note: "a folder packed by siirto (with the inner listing), encrypted to the authority with a one-time sender key"}},
		{"ready-zip", "registry_extract_2023", journalApp,
			encrypt.BundleOptions{Zip: filepath.Join(g.work, "ready.zip"), Recipients: []encrypt.PublicKey{g.authorityPub}},
			Expect{Note: "a zip made by another tool, encrypted as it is (no inner listing)"}},
		{"multi-recipient", "cohort", journal,
			encrypt.BundleOptions{Files: files, Recipients: []encrypt.PublicKey{g.authorityPub, g.otherPub}},
			Expect{Note: "encrypted to the authority and to other.pub; the authority's key opens it"}},
		{"registered-sender", "cohort.v2", journal,
			encrypt.BundleOptions{Files: files, Recipients: []encrypt.PublicKey{g.authorityPub}, Sender: &g.sender},
			Expect{Senders: []string{"sender.pub"}, Note: "sealed with sender.sec, which the authority registered"}},
	} {
		dir, err := g.caseDir("good", c.name, folderOf(c.journal), c.expect)
		if err != nil {
			return err
		}
		if err := writeJournalFile(dir, c.journal+"\n"); err != nil {
			return err
		}
		o := c.opts
		o.Name, o.JournalNumber, o.OutDir, o.Tool = c.bundle, c.journal, dir, tool
		o.Now = func() time.Time { return created }
		if _, err := encrypt.WriteBundle(context.Background(), o); err != nil {
			return fmt.Errorf("good/%s: %w", c.name, err)
		}
	}
	return nil
}

// sealed is a crafted bundle before it is written: the payload bytes and
// the manifest that describes them truthfully.
type sealed struct {
	payload []byte
	m       encrypt.Manifest
}

// seal encrypts plain as WriteBundle would and describes it with a
// truthful manifest; cases then break one thing.
func (g *generator) seal(name, j string, plain []byte, sender *encrypt.SecretKey, to []encrypt.PublicKey, listing bool) (*sealed, error) {
	var buf bytes.Buffer
	w, err := encrypt.NewWriter(&buf, sender, to, nil)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	s := &sealed{payload: buf.Bytes(), m: encrypt.Manifest{
		Format:        encrypt.Format,
		JournalNumber: j,
		Created:       created,
		Tool:          tool,
		Payload:       sums(encrypt.PayloadName(name), buf.Bytes()),
		Plaintext:     sums(name+".zip", plain),
		Sender:        encrypt.Sender{PublicKey: w.Sender().String(), Ephemeral: sender == nil},
		Listing:       listing,
	}}
	for _, r := range to {
		s.m.Recipients = append(s.m.Recipients, encrypt.Recipient{Fingerprint: r.Fingerprint()})
	}
	return s, nil
}

func sums(name string, data []byte) encrypt.FileSums {
	h := sha256.Sum256(data)
	return encrypt.FileSums{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(h[:])}
}

// badCase is one crafted bundle in a journal folder. A nil payload or
// manifest leaves that file out.
type badCase struct {
	name    string
	expect  Expect
	folder  string // journal folder; the default is journal's
	jfile   string // journal_number.txt; the default names journal
	bundle  string // bundle name; the default is "cohort"
	payload []byte
	// manifest is written as given when set; otherwise m is marshalled.
	manifest []byte
	m        *encrypt.Manifest
	noJSON   bool
}

func (g *generator) badCases() error {
	to := []encrypt.PublicKey{g.authorityPub}
	base, err := g.seal("cohort", journal, g.packed, nil, to, true)
	if err != nil {
		return err
	}
	// edited returns a copy of base's manifest changed by f.
	edited := func(f func(m *encrypt.Manifest)) *encrypt.Manifest {
		m := base.m
		m.Recipients = append([]encrypt.Recipient(nil), base.m.Recipients...)
		f(&m)
		return &m
	}
	// crafted seals a zip with hostile contents truthfully, so that only
	// the zip itself is wrong.
	crafted := func(listing bool, entries ...entry) (*sealed, error) {
		z, err := makeZip(entries...)
		if err != nil {
			return nil, err
		}
		return g.seal("cohort", journal, z, nil, to, listing)
	}
	var cases []badCase
	add := func(c badCase) { cases = append(cases, c) }
	must := func(s *sealed, err error) *sealed {
		if err != nil {
			panic(err)
		}
		return s
	}

	// Journal numbers.
	add(badCase{name: "journal-mismatch-folder", payload: base.payload, m: &base.m, folder: folderOf("THL/9999/14.02.00/2023"),
		expect: Expect{Code: verify.CodeJournalMismatch, Note: "uploaded into the folder of another permit: the folder name maps to THL/9999/14.02.00/2023, the manifest says THL/1234/14.02.00/2023"}})
	add(badCase{name: "journal-mismatch-file", payload: base.payload, m: &base.m, jfile: "THL/9999/14.02.00/2023\n",
		expect: Expect{Code: verify.CodeJournalMismatch, Note: "journal_number.txt holds another journal number than the manifest (the folder name agrees with the manifest)"}})
	add(badCase{name: "journal-mismatch-manifest", payload: base.payload,
		m:      edited(func(m *encrypt.Manifest) { m.JournalNumber = journalApp }),
		expect: Expect{Code: verify.CodeJournalMismatch, Note: "the manifest names 2022/53 while the folder and journal_number.txt name THL/1234/14.02.00/2023"}})
	add(badCase{name: "journal-invalid-manifest", payload: base.payload,
		m:      edited(func(m *encrypt.Manifest) { m.JournalNumber = "THL/1234/../2023" }),
		expect: Expect{Code: verify.CodeJournalInvalid, Note: "the manifest's journal number has a .. element"}})
	add(badCase{name: "journal-file-two-lines", payload: base.payload, m: &base.m, jfile: journal + "\r\nTHL/1235/14.02.00/2023\r\n",
		expect: Expect{Code: verify.CodeJournalInvalid, Note: "journal_number.txt has two lines; it must hold exactly one journal number"}})
	add(badCase{name: "journal-folder-invalid", payload: base.payload, m: &base.m, folder: "THL__1234_14.02.00_2023",
		expect: Expect{Code: verify.CodeJournalInvalid, Note: "the folder name (a doubled _) is not the image of any journal number"}})

	// Missing files.
	add(badCase{name: "manifest-missing", payload: base.payload, m: &base.m, noJSON: true,
		expect: Expect{Code: verify.CodeManifestMissing, Note: "only the .c4gh was uploaded; the harness reports a .c4gh without its .json as E_MANIFEST_MISSING without calling Check"}})
	add(badCase{name: "payload-missing", m: &base.m,
		expect: Expect{Code: verify.CodePayloadMissing, Note: "only the .json was uploaded"}})

	// Checksums, truncation and tampering.
	add(badCase{name: "payload-checksum", payload: base.payload,
		m: edited(func(m *encrypt.Manifest) {
			m.Payload.SHA256 = flipHex(m.Payload.SHA256)
		}),
		expect: Expect{Code: verify.CodeChecksumMismatch, Note: "the manifest's payload SHA-256 differs from the .c4gh file's (one hex digit changed)"}})
	add(badCase{name: "payload-trailing-bytes", payload: append(append([]byte{}, base.payload...), "junk"...), m: &base.m,
		expect: Expect{Code: verify.CodeChecksumMismatch, Note: "4 bytes were appended to the .c4gh after the manifest was written"}})
	add(badCase{name: "plaintext-checksum", payload: base.payload,
		m: edited(func(m *encrypt.Manifest) {
			m.Plaintext.SHA256 = flipHex(m.Plaintext.SHA256)
		}),
		expect: Expect{Code: verify.CodeChecksumMismatch, NeedsKey: true, Note: "the manifest's plaintext SHA-256 is wrong; only decryption shows it"}})
	tampered, err := flipSegmentBit(base.payload)
	if err != nil {
		return err
	}
	add(badCase{name: "tampered-segment", payload: tampered,
		m: edited(func(m *encrypt.Manifest) { m.Payload = sums(m.Payload.Name, tampered) }),
		expect: Expect{Code: verify.CodeTampered, NeedsKey: true,
			Note: "one bit of the first data segment is flipped, and the manifest's payload SHA-256 was set to the tampered file's, so the keyless checksum passes and only segment authentication (E_TAMPERED) catches it; with the original SHA-256 it would be E_CHECKSUM_MISMATCH without a key"}})
	add(badCase{name: "truncated", payload: base.payload[:len(base.payload)/2], m: &base.m,
		expect: Expect{Code: verify.CodeTruncated, Note: "the .c4gh holds only its first half, as after an interrupted upload"}})
	add(badCase{name: "truncated-in-header", payload: base.payload[:10], m: &base.m,
		expect: Expect{Code: verify.CodeTruncated, Note: "the .c4gh ends after 10 bytes, inside the Crypt4GH magic; a cut-off upload, not a file of another kind"}})
	add(badCase{name: "payload-empty", payload: []byte{}, m: &base.m,
		expect: Expect{Code: verify.CodeTruncated, Note: "the .c4gh is 0 bytes; the manifest says it is larger"}})
	add(badCase{name: "payload-empty-size-zero", payload: []byte{},
		m:      edited(func(m *encrypt.Manifest) { m.Payload = sums(m.Payload.Name, nil) }),
		expect: Expect{Code: verify.CodeManifestInvalid, Note: "the .c4gh is 0 bytes and the manifest agrees, but no Crypt4GH file is under 16 bytes, so the manifest is invalid"}})

	// Keys.
	wrong := must(g.seal("cohort", journal, g.packed, nil, []encrypt.PublicKey{g.otherPub}, true))
	add(badCase{name: "wrong-recipient", payload: wrong.payload, m: &wrong.m,
		expect: Expect{Code: verify.CodeWrongKey, NeedsKey: true, Note: "encrypted to other.pub only; the authority's key cannot open it"}})
	unknown := must(g.seal("cohort", journal, g.packed, &g.other, to, true))
	add(badCase{name: "sender-unknown", payload: unknown.payload, m: &unknown.m,
		expect: Expect{Code: verify.CodeSenderUnknown, Senders: []string{"sender.pub"}, Note: "sealed with other.sec while only sender.pub is registered"}})
	add(badCase{name: "sender-ephemeral", payload: base.payload, m: &base.m,
		expect: Expect{Code: verify.CodeSenderUnknown, Senders: []string{"sender.pub"}, Note: "sealed with a one-time key while a registered sender key is required"}})
	add(badCase{name: "sender-mismatch", payload: base.payload,
		m: edited(func(m *encrypt.Manifest) {
			m.Sender = encrypt.Sender{PublicKey: g.senderPub.String()}
		}),
		expect: Expect{Code: verify.CodeSenderMismatch, Note: "the manifest names sender.pub, but the header packets were sealed with a one-time key"}})
	two := must(g.seal("cohort", journal, g.packed, nil, []encrypt.PublicKey{g.authorityPub, g.otherPub}, true))
	two.m.Recipients = two.m.Recipients[:1]
	add(badCase{name: "header-packet-count", payload: two.payload, m: &two.m,
		expect: Expect{Code: verify.CodeHeaderInvalid, Note: "the header has packets for two recipients (the authority and other.pub), the manifest lists only the authority"}})
	notC4GH := base.m
	notC4GH.Payload = sums("cohort.c4gh", g.ready)
	notC4GH.Plaintext = sums("cohort.zip", g.ready)
	notC4GH.Listing = false
	add(badCase{name: "not-crypt4gh", payload: g.ready, m: &notC4GH,
		expect: Expect{Code: verify.CodeNotCrypt4GH, Note: "a plain zip renamed to .c4gh, with a manifest whose sums match it"}})

	// Zip entries: each zip is sealed truthfully, so only decryption finds them.
	data := sampleFiles["cohort/data.csv"]
	for _, c := range []struct {
		name    string
		code    verify.Code
		note    string
		entries []entry
	}{
		{"entry-zip-slip", verify.CodeEntryInvalid, `an entry named "../evil.txt" would be written outside the extraction folder`,
			[]entry{{name: "cohort/data.csv", body: data}, {name: "../evil.txt", body: "evil"}}},
		{"entry-absolute", verify.CodeEntryInvalid, `an entry named "/etc/x" has an absolute path`,
			[]entry{{name: "cohort/data.csv", body: data}, {name: "/etc/x", body: "evil"}}},
		{"entry-backslash", verify.CodeEntryInvalid, `an entry named "..\evil.txt" escapes on Windows, where the backslash separates folders`,
			[]entry{{name: "cohort/data.csv", body: data}, {name: `..\evil.txt`, body: "evil"}}},
		{"entry-symlink", verify.CodeEntrySymlink, `an entry is a symbolic link to /etc/passwd`,
			[]entry{{name: "cohort/data.csv", body: data}, {name: "cohort/passwd", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777}}},
		{"entry-duplicate", verify.CodeEntryDuplicate, `"cohort/data.csv" appears twice with different contents`,
			[]entry{{name: "cohort/data.csv", body: data}, {name: "cohort/data.csv", body: "id\n666\n"}}},
		{"entry-duplicate-case", verify.CodeEntryDuplicate, `"cohort/data.csv" and "cohort/DATA.csv" are the same file on Windows and macOS`,
			[]entry{{name: "cohort/data.csv", body: data}, {name: "cohort/DATA.csv", body: "id\n666\n"}}},
		{"zip-encrypted", verify.CodeZipEncrypted, "an entry has the zip encryption flag set (a password-protected zip)",
			[]entry{{name: "cohort/data.csv", body: data, encrypted: true}}},
		{"zip-crc", verify.CodeZipInvalid, "an entry's CRC-32 does not match its data (a damaged zip)",
			[]entry{{name: "cohort/data.csv", body: data, badCRC: true}}},
	} {
		s, err := crafted(false, c.entries...)
		if err != nil {
			return err
		}
		add(badCase{name: c.name, payload: s.payload, m: &s.m, expect: Expect{Code: c.code, NeedsKey: true, Note: c.note}})
	}
	bomb := must(crafted(false, entry{name: "cohort/zeros.bin", body: strings.Repeat("\x00", 64<<20)}))
	add(badCase{name: "zip-bomb", payload: bomb.payload, m: &bomb.m,
		expect: Expect{Code: verify.CodeZipBomb, NeedsKey: true, Note: "64 MiB of zeros deflated to about 64 KiB: an expansion ratio far above the limit"}})
	notZip := must(g.seal("cohort", journal, []byte("this plaintext is not a zip file\n"), nil, to, false))
	add(badCase{name: "zip-invalid", payload: notZip.payload, m: &notZip.m,
		expect: Expect{Code: verify.CodeZipInvalid, NeedsKey: true, Note: "the encrypted plaintext is text, not a zip"}})

	// The inner listing.
	wrongSum := sha256.Sum256([]byte("id,birth_year,diagnosis\n1,1970,I10\n2,1985,E11\n3,1992,J99\n"))
	listing, err := json.Marshal(encrypt.Listing{Format: encrypt.ListingFormat, Files: []encrypt.ListedFile{
		{Path: "cohort/data.csv", Size: int64(len(data)), SHA256: hex.EncodeToString(wrongSum[:])}}})
	if err != nil {
		return err
	}
	lm := must(crafted(true, entry{name: "cohort/data.csv", body: data}, entry{name: encrypt.ListingName, body: string(listing)}))
	add(badCase{name: "listing-mismatch", payload: lm.payload, m: &lm.m,
		expect: Expect{Code: verify.CodeListingMismatch, NeedsKey: true, Note: "the listing gives cohort/data.csv another SHA-256 than the file in the zip has"}})
	nl := must(g.seal("cohort", journal, g.ready, nil, to, true))
	add(badCase{name: "listing-missing", payload: nl.payload, m: &nl.m,
		expect: Expect{Code: verify.CodeListingInvalid, NeedsKey: true, Note: "the manifest promises an inner listing (listing: true), and the zip has none"}})
	add(badCase{name: "listing-unexpected", payload: base.payload, m: edited(func(m *encrypt.Manifest) { m.Listing = false }),
		expect: Expect{Code: verify.CodeListingMismatch, NeedsKey: true, Note: "the zip ends with a listing, but the manifest says listing: false"}})

	// The manifest itself.
	good, err := base.m.Marshal()
	if err != nil {
		return err
	}
	closing := bytes.LastIndexByte(good, '}')
	pad := func(extra string) []byte {
		return append(append(append([]byte{}, good[:closing]...), extra...), good[closing:]...)
	}
	add(badCase{name: "manifest-oversized", payload: base.payload, manifest: pad(strings.Repeat(" ", verify.MaxManifest)),
		expect: Expect{Code: verify.CodeManifestInvalid, Note: "a valid manifest padded with blanks to over 64 KiB"}})
	add(badCase{name: "manifest-not-json", payload: base.payload, manifest: good[:len(good)/2],
		expect: Expect{Code: verify.CodeManifestInvalid, Note: "the manifest is cut off halfway, so it is not JSON"}})
	add(badCase{name: "manifest-format-v2", payload: base.payload, manifest: bytes.Replace(good, []byte(`"siirto/1"`), []byte(`"siirto/2"`), 1),
		expect: Expect{Code: verify.CodeFormatUnsupported, Note: `the manifest's format is "siirto/2", a version this one does not read`}})
	add(badCase{name: "manifest-unknown-field", payload: base.payload, manifest: pad(",\n  \"signature\": \"trust me\"\n"),
		expect: Expect{Code: verify.CodeManifestInvalid, Note: `the manifest has a field siirto/1 does not define ("signature")`}})

	// Bundle names.
	for _, c := range []struct{ name, bundle, note string }{
		{"name-space", "cohort data", "the bundle name has a space, which the authority's rule forbids"},
		{"name-too-long", strings.Repeat("n", verify.MaxName+1), "the bundle name is 101 characters (at most 100)"},
	} {
		s := must(g.seal(c.bundle, journal, g.packed, nil, to, true))
		add(badCase{name: c.name, bundle: c.bundle, payload: s.payload, m: &s.m,
			expect: Expect{Code: verify.CodeNameInvalid, Note: c.note}})
	}
	renamed := must(g.seal("cohort_v2", journal, g.packed, nil, to, true))
	add(badCase{name: "name-mismatch", payload: renamed.payload, m: &renamed.m,
		expect: Expect{Code: verify.CodeNameMismatch, Note: "cohort_v2.c4gh and cohort_v2.json were renamed to cohort.*; the manifest still describes cohort_v2.c4gh"}})

	for _, c := range cases {
		if err := g.writeBad(c); err != nil {
			return fmt.Errorf("bad/%s: %w", c.name, err)
		}
	}
	return nil
}

func (g *generator) writeBad(c badCase) error {
	folder := c.folder
	if folder == "" {
		folder = folderOf(journal)
	}
	dir, err := g.caseDir("bad", c.name, folder, c.expect)
	if err != nil {
		return err
	}
	jfile := c.jfile
	if jfile == "" {
		jfile = journal + "\n"
	}
	if err := writeJournalFile(dir, jfile); err != nil {
		return err
	}
	name := c.bundle
	if name == "" {
		name = "cohort"
	}
	if c.payload != nil {
		if err := writeFile(filepath.Join(dir, encrypt.PayloadName(name)), c.payload); err != nil {
			return err
		}
	}
	if c.noJSON {
		return nil
	}
	data := c.manifest
	if data == nil {
		if data, err = c.m.Marshal(); err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(dir, encrypt.ManifestName(name)), data)
}

// flipSegmentBit returns a copy of payload with one bit flipped inside the
// first segment's ciphertext (after the header and the 12-byte nonce).
func flipSegmentBit(payload []byte) ([]byte, error) {
	h, err := encrypt.ParseHeader(bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	off := h.Size + 12 + 5
	if off >= int64(len(payload)) {
		return nil, errors.New("payload too short to tamper with")
	}
	out := append([]byte{}, payload...)
	out[off] ^= 0x10
	return out, nil
}

// flipHex changes the first hex digit of a checksum.
func flipHex(s string) string {
	if s[0] == '0' {
		return "1" + s[1:]
	}
	return "0" + s[1:]
}

// entry is one zip entry as written, however unsafe.
type entry struct {
	name, body string
	mode       fs.FileMode
	// encrypted sets the traditional PKWARE encryption flag.
	encrypted bool
	// badCRC records a CRC-32 that does not match the data.
	badCRC bool
}

// makeZip writes entries exactly as given: archive/zip does not check
// names, which is what lets these cases exist.
func makeZip(entries ...entry) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: created}
		h.SetMode(0o600)
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		if e.encrypted || e.badCRC {
			// Raw entries are stored: the bytes written are the entry's data.
			body := []byte(e.body)
			h.Method = zip.Store
			h.CRC32 = crc32.ChecksumIEEE(body)
			h.UncompressedSize64 = uint64(len(body))
			if e.badCRC {
				h.CRC32 ^= 1
			}
			if e.encrypted {
				// A PKWARE-encrypted entry starts with a 12-byte header;
				// random bytes stand in for the ciphertext.
				h.Flags |= 0x1
				body = make([]byte, 12+len(body))
				if _, err := rand.Read(body); err != nil {
					return nil, err
				}
			}
			h.CompressedSize64 = uint64(len(body))
			w, err := zw.CreateRaw(h)
			if err != nil {
				return nil, err
			}
			if _, err := w.Write(body); err != nil {
				return nil, err
			}
			continue
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJournalFile(dir, content string) error {
	return writeFile(filepath.Join(dir, verify.JournalFile), []byte(content))
}

// writeFile writes test data world-readable: it is committed to git,
// which keeps no other permissions anyway.
func writeFile(p string, data []byte) error {
	return os.WriteFile(p, data, 0o644)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
