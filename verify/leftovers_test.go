package verify_test

import (
	"path/filepath"
	"testing"

	corpuspkg "github.com/siirto/siirto/internal/corpus"
)

// plaintextLeft lists what Check left of a decrypted zip in dir, once it
// has returned: files by name (Windows keeps the name while the file is
// open) and, on Linux, open ones whose name privateTemp already removed.
func plaintextLeft(t testing.TB, dir string) []string {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, ".siirto-verify-*"))
	if err != nil {
		t.Fatal(err)
	}
	return append(left, corpuspkg.OpenUnder(t, dir)...)
}
