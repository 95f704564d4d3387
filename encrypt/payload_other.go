//go:build !linux

package encrypt

import "os"

// newPayloadFile writes through the page cache; the final sync makes it
// durable. Only Linux gets direct I/O (payload_linux.go).
func newPayloadFile(f *os.File) payloadFile { return syncedFile{f} }

type syncedFile struct{ *os.File }

func (s syncedFile) Finish() error { return s.Sync() }

func (s syncedFile) Abort() {}
