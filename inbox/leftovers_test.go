package inbox_test

import (
	"os"
	"path/filepath"
	"testing"

	corpuspkg "github.com/siirto/siirto/internal/corpus"
)

// workLeft lists the plaintext a pipeline left in staging/.work once it
// has returned: files by name and, on Linux, open ones whose name verify
// already removed.
func workLeft(t testing.TB, h *harness) []string {
	t.Helper()
	work := filepath.Join(h.cfg.Staging, ".work")
	var left []string
	entries, _ := os.ReadDir(work) // missing when nothing needed it
	for _, e := range entries {
		left = append(left, e.Name())
	}
	return append(left, corpuspkg.OpenUnder(t, work)...)
}
