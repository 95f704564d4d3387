package encrypt_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siirto/siirto/encrypt"
)

// FuzzStreamUnpack feeds arbitrary bytes, as a decrypted payload, through
// both passes of the streaming extraction (ReadZipTail, StreamUnpack) into
// a real folder. It must never panic; every refusal carries a sentinel
// and leaves nothing behind; and whatever it accepts, archive/zip and
// Unpack read the same: the same files, with the same bytes on disk.
func FuzzStreamUnpack(f *testing.F) {
	f.Add(packedZip(f))
	f.Add(rawZip(f, zipEntry{name: "a.txt", body: "one"}, zipEntry{name: "b/c.txt", body: strings.Repeat("x", 5000)}))
	f.Add(rawZip(f, zipEntry{name: "dir/", mode: 0o700 | os.ModeDir}, zipEntry{name: "dir/a", body: "a"}))
	f.Add(rawZip(f, zipEntry{name: encrypt.ListingName, body: `{"format":"siirto-listing/1","files":[]}`}))
	f.Add(append([]byte("#!prefix\n"), rawZip(f, zipEntry{name: "a", body: "a"})...))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		tail, err := encrypt.ReadZipTail(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, encrypt.ErrZipInvalid) && !errors.Is(err, encrypt.ErrNoRandomAccess) {
				t.Fatalf("ReadZipTail error has no sentinel: %v", err)
			}
			return
		}
		parent := t.TempDir()
		out := filepath.Join(parent, "out")
		res, err := encrypt.StreamUnpack(context.Background(), tail, bytes.NewReader(data), out, fuzzLimits, nil)
		if err != nil {
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Fatalf("a refused zip (%v) left %d entries behind", err, len(entries))
			}
			for _, s := range []error{encrypt.ErrUnsafeName, encrypt.ErrDuplicate, encrypt.ErrSymlink,
				encrypt.ErrZipEncrypted, encrypt.ErrZipInvalid, encrypt.ErrZipBomb, encrypt.ErrListingFormat} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("StreamUnpack error has no sentinel: %v", err)
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
			t.Fatalf("StreamUnpack accepted what archive/zip cannot open: %v", err)
		}
		want, err := encrypt.Unpack(context.Background(), zr, "", fuzzLimits, nil)
		if err != nil {
			t.Fatalf("StreamUnpack accepted what Unpack refuses: %v", err)
		}
		if len(want.Files) != len(res.Files) || (want.Listing == nil) != (res.Listing == nil) {
			t.Fatalf("StreamUnpack read %d files, Unpack %d", len(res.Files), len(want.Files))
		}
		for i, lf := range res.Files {
			if lf != want.Files[i] {
				t.Fatalf("StreamUnpack read %+v, Unpack %+v", lf, want.Files[i])
			}
		}
		// The bytes on disk are what archive/zip reads from the entry.
		for _, zf := range zr.File {
			if zf.Name == encrypt.ListingName || strings.HasSuffix(zf.Name, "/") {
				continue
			}
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("archive/zip cannot read %q, which StreamUnpack accepted: %v", zf.Name, err)
			}
			disk, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(zf.Name)))
			if err != nil || !bytes.Equal(disk, body) {
				t.Fatalf("%q on disk differs from archive/zip's reading (%v)", zf.Name, err)
			}
		}
	})
}
