//go:build !linux

package encrypt

import (
	"hash"
	"io"
	"os"
)

// newPayloadFile writes through the page cache; the final sync makes it
// durable. Only Linux gets direct I/O (payload_linux.go).
func newPayloadFile(f *os.File) PayloadFile { return syncedFile{f} }

func newBufferedFile(f *os.File) PayloadFile { return syncedFile{f} }

type syncedFile struct{ *os.File }

func (s syncedFile) Finish() error { return s.Sync() }

func (s syncedFile) Abort() {}

// newWritebackFile writes an extracted file through the page cache,
// hashing it into sum; the final sync makes it durable.
func newWritebackFile(f *os.File, _ int64, sum hash.Hash) PayloadFile {
	return hashedFile{syncedFile{f}, io.MultiWriter(f, sum)}
}

type hashedFile struct {
	syncedFile
	w io.Writer
}

func (h hashedFile) Write(p []byte) (int, error) { return h.w.Write(p) }

func alignedBuffer(n int) []byte { return make([]byte, n) }

// openDirect: only Linux reads around the page cache here.
func openDirect(string) *os.File { return nil }
