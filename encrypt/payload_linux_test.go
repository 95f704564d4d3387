package encrypt

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"testing"
)

// TestPayloadFileSizes writes sizes around the direct-I/O block and chunk
// boundaries, in uneven pieces, and reads them back. On /dev/shm (tmpfs)
// the file system may refuse O_DIRECT, which exercises the fallback.
func TestPayloadFileSizes(t *testing.T) {
	dirs := payloadDirs(t)
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
				writeUneven(t, newPayloadFile(f), want)
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

// TestPayloadWritebackHash writes extracted files through newWritebackFile
// with a hash: from directMin up the blocks go direct and a goroutine of
// its own hashes them, so the sum must still cover every byte, the partial
// last block included. One size just under directMin takes the buffered
// path for comparison.
func TestPayloadWritebackHash(t *testing.T) {
	for _, dir := range payloadDirs(t) {
		for _, size := range []int{directMin - 1, directMin, directMin + directBlock + 7} {
			t.Run(fmt.Sprintf("%s/%d", dir, size), func(t *testing.T) {
				want := randomBytes(t, size, uint64(size))
				f, err := os.CreateTemp(dir, "extract-")
				if err != nil {
					t.Fatal(err)
				}
				defer os.Remove(f.Name())
				h := sha256.New()
				writeUneven(t, newWritebackFile(f, int64(size), h), want)
				f.Close()
				got, err := os.ReadFile(f.Name())
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("read back %d bytes, want %d identical bytes", len(got), len(want))
				}
				if sum := sha256.Sum256(want); !bytes.Equal(h.Sum(nil), sum[:]) {
					t.Fatal("the hash fed by the writer is not the SHA-256 of what was written")
				}
			})
		}
	}
}

// payloadDirs is a temporary folder on disk and, where there is one, one
// on /dev/shm (tmpfs), whose refusal of O_DIRECT exercises the fallback.
func payloadDirs(t *testing.T) []string {
	t.Helper()
	dirs := []string{t.TempDir()}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "siirto-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// writeUneven writes data to p in pieces of uneven sizes, so that writes
// straddle block and chunk boundaries, then finishes p.
func writeUneven(t *testing.T, p PayloadFile, data []byte) {
	t.Helper()
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+len(rest)%(SealedSegmentSize*3))
		if _, err := p.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := p.Finish(); err != nil {
		t.Fatal(err)
	}
}

// TestPayloadBuffered drives the buffered path (with its writeback windows)
// that file systems without O_DIRECT get.
func TestPayloadBuffered(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "payload-")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := &linuxPayload{f: f}
	want := randomBytes(t, 3*writebackWindow+11, 4)
	for rest := want; len(rest) > 0; {
		n := min(len(rest), 1<<20+3)
		if _, err := p.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := p.Finish(); err != nil {
		t.Fatal(err)
	}
	if p.started != 3*writebackWindow {
		t.Errorf("writeback started up to %d, want %d", p.started, 3*writebackWindow)
	}
	got, _ := os.ReadFile(f.Name())
	if !bytes.Equal(got, want) {
		t.Fatal("buffered payload differs")
	}
}

// TestPayloadWriteError: a write that fails in the background goroutine
// is reported, and Abort stops the goroutine.
func TestPayloadWriteError(t *testing.T) {
	dir := t.TempDir()
	f, err := os.CreateTemp(dir, "payload-")
	if err != nil {
		t.Fatal(err)
	}
	p := newPayloadFile(f).(*linuxPayload)
	if !p.direct {
		t.Skip("this file system refuses O_DIRECT")
	}
	f.Close() // every write from now on fails
	chunk := make([]byte, directChunk)
	var werr error
	for i := 0; i < 2*directBuffers && werr == nil; i++ {
		_, werr = p.Write(chunk)
	}
	ferr := p.Finish()
	if werr == nil && ferr == nil {
		t.Fatal("writes to a closed file were not reported")
	}
	p.Abort() // what WriteBundle's cleanup does after a failed Finish: no panic
	g := newPayloadFile(mustTemp(t, dir)).(*linuxPayload)
	g.Write(chunk)
	g.Abort()
	g.Abort() // a second call is harmless
}

func mustTemp(t *testing.T, dir string) *os.File {
	t.Helper()
	f, err := os.CreateTemp(dir, "payload-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
