package encrypt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPayloadFileSizes writes sizes around the direct-I/O block and chunk
// boundaries, in uneven pieces, in both writing modes, and reads them
// back. On /dev/shm (tmpfs) the file system may refuse O_DIRECT, which
// exercises the fallback.
func TestPayloadFileSizes(t *testing.T) {
	sizes := []int{0, 1, directBlock - 1, directBlock, directBlock + 1, directChunk,
		directChunk + directBlock + 7, 2*directChunk + 123, writebackWindow*3 + 5}
	roundTrip(t, sizes, func(f *os.File, size, mode int) (PayloadFile, hash.Hash) {
		return newModePayload(t, f, nil, mode), nil
	})
}

// roundTrip writes each size through the writer open makes, in every
// folder of payloadDirs and every writing mode, reads the file back and
// checks the hash the writer fed, if any.
func roundTrip(t *testing.T, sizes []int, open func(f *os.File, size, mode int) (PayloadFile, hash.Hash)) {
	for _, dir := range payloadDirs(t) {
		for _, size := range sizes {
			for _, mode := range writeModes {
				t.Run(fmt.Sprintf("%s/%d/%s", dir, size, mode.name), func(t *testing.T) {
					want := randomBytes(t, size, uint64(size))
					f, err := os.CreateTemp(dir, "payload-")
					if err != nil {
						t.Fatal(err)
					}
					defer os.Remove(f.Name())
					w, h := open(f, size, mode.mode)
					writeUneven(t, w, want)
					f.Close()
					got, err := os.ReadFile(f.Name())
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("read back %d bytes, want %d identical bytes", len(got), len(want))
					}
					if sum := sha256.Sum256(want); h != nil && !bytes.Equal(h.Sum(nil), sum[:]) {
						t.Fatal("the hash fed by the writer is not the SHA-256 of what was written")
					}
				})
			}
		}
	}
}

// writeModes are the two ways direct writes go out: through io_uring,
// and through a goroutine with blocking writes where io_uring is
// missing.
var writeModes = []struct {
	name string
	mode int
}{{"ring", writeRingOrBlocking}, {"blocking", writeBlocking}}

// newModePayload is newLinuxPayload, checked to have taken the mode
// asked for wherever the file system takes direct writes. Where the
// kernel refuses io_uring (a container's seccomp profile, say), the ring
// mode falls back, and the test says so, or fails if
// SIIRTO_REQUIRE_IO_URING is set, as make test sets it.
func newModePayload(t *testing.T, f *os.File, sum hash.Hash, mode int) *linuxPayload {
	t.Helper()
	p := newLinuxPayload(f, sum, mode)
	if !p.direct {
		return p
	}
	switch {
	case mode == writeBlocking && p.ring != nil:
		t.Fatal("blocking mode uses io_uring")
	case mode == writeRingOrBlocking && p.ring == nil:
		r, err := newWriteRing(directBuffers + 1)
		if err == nil {
			r.close()
		}
		if os.Getenv("SIIRTO_REQUIRE_IO_URING") != "" {
			t.Fatalf("no io_uring here (%v), and SIIRTO_REQUIRE_IO_URING is set", err)
		}
		t.Logf("no io_uring here (%v): the blocking writer was tested instead", err)
	}
	return p
}

// TestPayloadWritebackHash writes extracted files through newWritebackFile
// with a hash: from directMin up the blocks go direct and a goroutine of
// its own hashes them, so the sum must still cover every byte, the partial
// last block included. One size just under directMin takes the buffered
// path for comparison.
func TestPayloadWritebackHash(t *testing.T) {
	roundTrip(t, []int{directMin - 1, directMin, directMin + directBlock + 7}, func(f *os.File, size, mode int) (PayloadFile, hash.Hash) {
		h := sha256.New()
		if size < directMin {
			return newWritebackFile(f, int64(size), h), h
		}
		return newModePayload(t, f, h, mode), h
	})
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
	for _, mode := range writeModes {
		t.Run(mode.name, func(t *testing.T) { testPayloadWriteError(t, mode.mode) })
	}
}

func testPayloadWriteError(t *testing.T, mode int) {
	dir := t.TempDir()
	f, err := os.CreateTemp(dir, "payload-")
	if err != nil {
		t.Fatal(err)
	}
	p := newModePayload(t, f, nil, mode)
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
	g := newModePayload(t, mustTemp(t, dir), nil, mode)
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

// TestWriteTag: a write's tag gives back its slot, length and offset, at
// the largest values they take.
func TestWriteTag(t *testing.T) {
	for _, b := range []directWrite{
		{slot: 0, n: directBlock, off: 0},
		{slot: directBuffers - 1, n: directChunk, off: 7 * directChunk},
		{slot: 1, n: directChunk - directBlock, off: (1<<40 - 1) * directBlock},
	} {
		tag := writeTag(b)
		if got := tagWrite(tag); got != b {
			t.Errorf("tag of %+v gives back %+v", b, got)
		}
		if tag == ringDone {
			t.Errorf("tag of %+v is the closing marker's", b)
		}
	}
}

// TestWriteRingSetupFails: a ring whose setup fails halfway (an old
// kernel's features, a mapping refused) is released without a crash, so
// that the payload can fall back to blocking writes.
func TestWriteRingSetupFails(t *testing.T) {
	for _, p := range []ringParams{
		{},
		{features: ringFeatSingle | ringFeatCurPos, sqEntries: 4, cqEntries: 8},
	} {
		r := &writeRing{fd: -1}
		if err := r.setup(&p); err == nil {
			t.Fatalf("setup with %+v and no ring succeeded", p)
		}
		r.close()
	}
}

// TestPayloadRingBroken: once a submission fails, the payload reports
// it, Write does not wait for a buffer that never comes back, and Finish
// and Abort end.
func TestPayloadRingBroken(t *testing.T) {
	f := mustTemp(t, t.TempDir())
	p := newModePayload(t, f, nil, writeRingOrBlocking)
	if p.ring == nil {
		t.Skip("no direct writes through io_uring here; newModePayload said why")
	}
	// Every io_uring_enter from now on fails.
	unix.Close(p.ring.fd)
	p.ring.fd = -1
	done := make(chan error, 1)
	go func() {
		chunk := make([]byte, directChunk)
		var werr error
		for i := 0; i < 2*directBuffers && werr == nil; i++ {
			_, werr = p.Write(chunk)
		}
		if werr == nil {
			done <- errors.New("writes through a broken ring were not refused")
			return
		}
		if err := p.Finish(); err == nil {
			done <- errors.New("Finish after a broken ring succeeded")
			return
		}
		p.Abort()
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the payload hangs after its ring broke")
	}
}
