// Package corpus reads testdata/ for the tests of every package: the test
// keys, and the bundle corpus with each case's expect.json (see
// testdata/README.md). It is for tests only.
package corpus

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// Expect is a case's expect.json.
type Expect struct {
	Code     verify.Code `json:"code"`
	NeedsKey bool        `json:"needs_key"`
	Senders  []string    `json:"senders"`
	Note     string      `json:"note"`
}

// ReadExpect reads caseDir/expect.json strictly: unknown fields and a
// missing note fail the test.
func ReadExpect(t testing.TB, caseDir string) Expect {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(caseDir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e Expect
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("%s/expect.json: %v", caseDir, err)
	}
	if e.Note == "" {
		t.Errorf("%s/expect.json has no note", caseDir)
	}
	return e
}

// JournalFolder returns the one journal folder inside a case folder.
func JournalFolder(t testing.TB, caseDir string) string {
	t.Helper()
	entries, err := os.ReadDir(caseDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) != 1 {
		t.Fatalf("%s must hold exactly one journal folder, it has %q", caseDir, dirs)
	}
	return filepath.Join(caseDir, dirs[0])
}

// SecretKey reads testdata/keys/name; root is the path to testdata.
func SecretKey(t testing.TB, root, name string, passphrase []byte) encrypt.SecretKey {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "keys", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sk, err := encrypt.ParseSecretKey(f, passphrase)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return sk
}

// PublicKey reads testdata/keys/name; root is the path to testdata.
func PublicKey(t testing.TB, root, name string) encrypt.PublicKey {
	t.Helper()
	pk, err := encrypt.ReadPublicKeyFile(filepath.Join(root, "keys", name))
	if err != nil {
		t.Fatal(err)
	}
	return pk
}
