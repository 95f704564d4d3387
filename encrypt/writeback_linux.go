package encrypt

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackWindow is how much written data may wait in the page cache
// before the kernel is asked to write it out.
const writebackWindow = 8 << 20

// writeback writes to f and asks the kernel to start writing each 8 MiB
// window to disk as soon as it is complete, waiting for the window two
// steps back. The disk then works while the next segments are sealed,
// instead of all at once in the final fsync, and dirty memory stays
// bounded. Errors from the hints are ignored: fsync still decides.
type writeback struct {
	f       *os.File
	written int64
	started int64
}

func newWriteback(f *os.File) *writeback { return &writeback{f: f} }

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	fd := int(w.f.Fd())
	for w.written-w.started >= writebackWindow {
		_ = unix.SyncFileRange(fd, w.started, writebackWindow, unix.SYNC_FILE_RANGE_WRITE)
		if back := w.started - 2*writebackWindow; back >= 0 {
			_ = unix.SyncFileRange(fd, back, writebackWindow,
				unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
		}
		w.started += writebackWindow
	}
	return n, err
}
