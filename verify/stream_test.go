package verify_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// sealed is a bundle made in memory from any plaintext, zip or not.
type sealed struct {
	m       *encrypt.Manifest
	payload []byte
	key     encrypt.SecretKey
}

func sealPlain(t *testing.T, plain []byte) *sealed {
	t.Helper()
	pk, sk, err := encrypt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := encrypt.NewWriter(&buf, nil, []encrypt.PublicKey{pk}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sums := func(name string, s encrypt.Sums) encrypt.FileSums {
		return encrypt.FileSums{Name: name, Size: s.Size, SHA256: hex.EncodeToString(s.SHA256[:])}
	}
	m := &encrypt.Manifest{
		Format: encrypt.Format, JournalNumber: "2022/53", Created: time.Now().UTC().Truncate(time.Second),
		Tool:    encrypt.Tool{Name: "test", Version: "v0"},
		Payload: sums("b.c4gh", w.Ciphertext()), Plaintext: sums("b.zip", w.Plaintext()),
		Recipients: []encrypt.Recipient{{Fingerprint: pk.Fingerprint()}},
		Sender:     encrypt.Sender{PublicKey: w.Sender().String(), Ephemeral: true},
	}
	return &sealed{m: m, payload: buf.Bytes(), key: sk}
}

// check runs Check with the key, extracting into a fresh folder, and
// returns the error and whether anything was left beside the target.
func (s *sealed) check(t *testing.T, workDir string) (string, *verify.Result, error) {
	t.Helper()
	man, err := s.m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	b := verify.Bundle{Name: "b", Manifest: man, Payload: bytes.NewReader(s.payload), PayloadSize: int64(len(s.payload))}
	res, err := verify.Check(context.Background(), b, verify.Options{Key: &s.key, ExtractTo: out, WorkDir: workDir})
	entries, _ := os.ReadDir(parent)
	if err != nil && len(entries) != 0 {
		t.Errorf("a refused bundle left %d entries beside the target", len(entries))
	}
	return out, res, err
}

func zipOf(t *testing.T, prefix []byte, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.Write(prefix)
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A directory that does not exist: Check fails if it needs a temp file.
const noWorkDir = "/nonexistent/siirto-work"

// TestCheckStreams: with a payload that is a ReaderAt of known size, the
// files are extracted without the plaintext zip being written anywhere.
func TestCheckStreams(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 50_000)
	s := sealPlain(t, zipOf(t, nil, map[string][]byte{"a/b.txt": body, "c.txt": []byte("c")}))
	out, res, err := s.check(t, noWorkDir)
	if err != nil {
		t.Fatalf("streamed check: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(out, "a", "b.txt"))
	if err != nil || !bytes.Equal(got, body) || len(res.Files) != 2 || !res.Decrypted {
		t.Fatalf("extracted %d files, decrypted %v, %v", len(res.Files), res.Decrypted, err)
	}
}

// TestCheckFallsBack: a zip whose offsets do not count from the file's
// start is read through a plaintext file in WorkDir, and only there.
func TestCheckFallsBack(t *testing.T) {
	s := sealPlain(t, append([]byte("prefix not counted in the offsets"), zipOf(t, nil, map[string][]byte{"a.txt": []byte("a")})...))
	if _, _, err := s.check(t, noWorkDir); verify.CodeOf(err) != verify.CodeIO {
		t.Fatalf("with no work folder: %v, want %s (the fallback's temp file)", err, verify.CodeIO)
	}
	work := t.TempDir()
	out, res, err := s.check(t, work)
	if err != nil || len(res.Files) != 1 {
		t.Fatalf("fallback: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "a.txt")); err != nil {
		t.Fatal(err)
	}
	if left := plaintextLeft(t, work); len(left) != 0 {
		t.Fatalf("plaintext left in the work folder: %q", left)
	}
}

// TestCheckStreamVerdictOrder: the streamed check reports what the file
// path reports: a damaged payload before its sums, the sums before a
// fault in the zip, wherever in the zip the fault is.
func TestCheckStreamVerdictOrder(t *testing.T) {
	good := zipOf(t, nil, map[string][]byte{"a.txt": bytes.Repeat([]byte("a"), 200_000)})
	crcBad := append([]byte(nil), good...)
	crcBad[bytes.Index(crcBad, []byte("PK\x01\x02"))+16] ^= 1 // the directory's CRC-32
	for _, c := range []struct {
		name    string
		plain   []byte
		wrongPT bool // the manifest's plaintext SHA-256 is wrong
		tamper  int  // flip a byte this far from the payload's end
		want    verify.Code
	}{
		{"not a zip", []byte("just text"), false, 0, verify.CodeZipInvalid},
		{"not a zip, wrong sum", []byte("just text"), true, 0, verify.CodeChecksumMismatch},
		{"bad CRC-32", crcBad, false, 0, verify.CodeZipInvalid},
		{"bad CRC-32, wrong sum", crcBad, true, 0, verify.CodeChecksumMismatch},
		{"wrong sum", good, true, 0, verify.CodeChecksumMismatch},
		{"tampered directory", good, false, 30, verify.CodeTampered},
		{"tampered first segment", good, false, len(good), verify.CodeTampered},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := sealPlain(t, c.plain)
			if c.wrongPT {
				sum := sha256.Sum256([]byte("something else"))
				s.m.Plaintext.SHA256 = hex.EncodeToString(sum[:])
			}
			if c.tamper > 0 {
				s.payload[len(s.payload)-c.tamper] ^= 1
				sum := sha256.Sum256(s.payload)
				s.m.Payload.SHA256 = hex.EncodeToString(sum[:])
			}
			out, _, err := s.check(t, noWorkDir)
			if got := verify.CodeOf(err); got != c.want {
				t.Fatalf("%s (%v), want %s", got, err, c.want)
			}
			if _, err := os.Lstat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("extracted: %v", err)
			}
		})
	}
}
