package encrypt

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// TestPayloadFileSizes writes sizes around the direct-I/O block and chunk
// boundaries, in uneven pieces, and reads them back. On /dev/shm (tmpfs)
// the file system may refuse O_DIRECT, which exercises the fallback.
func TestPayloadFileSizes(t *testing.T) {
	dirs := []string{t.TempDir()}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "siirto-test-")
		if err == nil {
			defer os.RemoveAll(d)
			dirs = append(dirs, d)
		}
	}
	sizes := []int{0, 1, directBlock - 1, directBlock, directBlock + 1, directChunk,
		directChunk + directBlock + 7, 2*directChunk + 123, writebackWindow*3 + 5}
	for _, dir := range dirs {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", dir, size), func(t *testing.T) {
				want := randomBytes(t, size, uint64(size))
				f, err := os.CreateTemp(dir, "payload-")
				if err != nil {
					t.Fatal(err)
				}
				defer os.Remove(f.Name())
				p := newPayloadFile(f)
				for rest := want; len(rest) > 0; {
					n := min(len(rest), 1+len(rest)%(SealedSegmentSize*3))
					if _, err := p.Write(rest[:n]); err != nil {
						t.Fatal(err)
					}
					rest = rest[n:]
				}
				if err := p.Finish(); err != nil {
					t.Fatal(err)
				}
				f.Close()
				got, err := os.ReadFile(f.Name())
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("read back %d bytes, want %d identical bytes", len(got), len(want))
				}
			})
		}
	}
}
