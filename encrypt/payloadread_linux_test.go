package encrypt

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestPayloadReader reads files of sizes around the window and block
// boundaries as a verifier does (the end first, then from the start in
// uneven pieces, through ReadAt) and as a copy does (Read), on disk and
// on tmpfs, and compares every byte and every error with a bytes.Reader.
func TestPayloadReader(t *testing.T) {
	// Below directMin through the page cache, from it through windows.
	sizes := []int{0, 1, directBlock + 1, directChunk + 1, directMin - 1, directMin, directMin + 1,
		directMin + 2*directChunk + directBlock + 123}
	dirs := payloadDirs(t)
	for _, dir := range dirs {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", dir, size), func(t *testing.T) {
				want := randomBytes(t, size, uint64(size)+9)
				name := filepath.Join(dir, fmt.Sprintf("payload-%d", size))
				if err := os.WriteFile(name, want, 0o600); err != nil {
					t.Fatal(err)
				}
				defer os.Remove(name)

				r, err := OpenPayload(name)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("Read: %d bytes, %v; want the file's %d bytes", len(got), err, size)
				}
				r.Close()

				r, err = OpenPayload(name)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				if d := openDirect(name); d != nil {
					d.Close()
					if (r.direct != nil) != (size >= directMin) {
						t.Fatalf("direct reads: %v, for %d bytes where the file system takes them", r.direct != nil, size)
					}
				} else {
					t.Logf("%s refuses direct reads: the page cache was tested instead", dir)
				}
				// Seek back, then read through.
				if _, err := io.CopyN(io.Discard, r, int64(min(size, 7))); err != nil {
					t.Fatal(err)
				}
				if pos, err := r.Seek(0, io.SeekStart); pos != 0 || err != nil {
					t.Fatalf("Seek: %d, %v", pos, err)
				}
				if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("Read after Seek: %d bytes, %v", len(got), err)
				}
				ref := bytes.NewReader(want)
				rng := rand.New(rand.NewPCG(uint64(size), 1))
				var off int64
				for i := range 300 {
					n := 1 + rng.IntN(3*SealedSegmentSize)
					switch {
					case i%50 == 0: // somewhere else: the zip's end, say
						off = rng.Int64N(int64(size) + 2)
					case i%7 == 0: // a little back
						off = max(0, off-int64(rng.IntN(1000)))
					}
					a, b := make([]byte, n), make([]byte, n)
					na, errA := r.ReadAt(a, off)
					nb, errB := ref.ReadAt(b, off)
					if na != nb || errA != errB || !bytes.Equal(a[:na], b[:nb]) {
						t.Fatalf("ReadAt(%d bytes, %d): %d, %v; want %d, %v", n, off, na, errA, nb, errB)
					}
					off += int64(na)
				}
			})
		}
	}
}
