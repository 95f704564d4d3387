package inbox_test

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/inbox"
)

// BenchmarkSmallBundles: the pipeline alone (no HTTP) on 1 MiB bundles:
// verify, decrypt, stage, receipt and one notification each, with the
// real SQLite ledger. Its ns/op is the cost of one bundle.
//
//	go test -run '^$' -bench SmallBundles -benchtime 200x -cpuprofile cpu.out ./inbox
func BenchmarkSmallBundles(b *testing.B) {
	h := newHarness(b)
	const folder = "THL_1234_14.02.00_2023"
	h.journal[folder] = inbox.Journal{Channels: []string{"webhook"}}
	src := b.TempDir()
	zipPath := filepath.Join(src, "in.zip")
	f, _ := os.Create(zipPath)
	zw := zip.NewWriter(f)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "data.bin", Method: zip.Store})
	io.CopyN(w, rand.Reader, 1<<20)
	zw.Close()
	f.Close()
	dir := filepath.Join(h.cfg.Inbox, folder)
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "journal_number.txt"), []byte("THL/1234/14.02.00/2023\n"), 0o600)
	pk := h.cfg.Key.Public()
	for i := range b.N {
		if _, err := encrypt.WriteBundle(context.Background(), encrypt.BundleOptions{Name: fmt.Sprintf("b%05d", i),
			JournalNumber: "THL/1234/14.02.00/2023", Zip: zipPath, Recipients: []encrypt.PublicKey{pk}, OutDir: dir,
			Tool: encrypt.Tool{Name: "bench", Version: "1"}}); err != nil {
			b.Fatal(err)
		}
	}
	p := h.pipeline(b)
	b.ResetTimer()
	if err := p.Once(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	recs, _ := h.ledger.List(context.Background(), "")
	for _, r := range recs {
		if r.State != inbox.StateReceipted {
			b.Fatalf("%s: %s %s", r.Name, r.State, r.Code)
		}
	}
}
