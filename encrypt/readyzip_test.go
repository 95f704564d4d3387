package encrypt_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/siirto/siirto/encrypt"
)

// TestReadyZipUnsafeName checks that a ready zip with an unsafe entry
// name is refused as unsafe (not as a broken zip) before anything is
// encrypted, whatever archive/zip's zipinsecurepath setting is.
func TestReadyZipUnsafeName(t *testing.T) {
	for _, godebug := range []string{"", "zipinsecurepath=0"} {
		t.Run("GODEBUG="+godebug, func(t *testing.T) {
			t.Setenv("GODEBUG", godebug)
			dir := t.TempDir()
			zipPath := filepath.Join(dir, "evil.zip")
			if err := os.WriteFile(zipPath, rawZip(t, zipEntry{name: "../evil.txt", body: "x"}), 0o600); err != nil {
				t.Fatal(err)
			}
			pk, _ := genKey(t)
			out := filepath.Join(dir, "out")
			if err := os.Mkdir(out, 0o700); err != nil {
				t.Fatal(err)
			}
			_, err := encrypt.WriteBundle(context.Background(), encrypt.BundleOptions{
				Name: "evil", JournalNumber: "2022/53", Zip: zipPath,
				Recipients: []encrypt.PublicKey{pk}, OutDir: out,
			})
			if !errors.Is(err, encrypt.ErrUnsafeName) {
				t.Fatalf("WriteBundle = %v, want ErrUnsafeName", err)
			}
			if left, _ := os.ReadDir(out); len(left) != 0 {
				t.Fatalf("a refused zip left %d files in the output folder", len(left))
			}
		})
	}
}
