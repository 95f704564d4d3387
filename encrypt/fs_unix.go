//go:build unix

package encrypt

import (
	"io/fs"
	"syscall"
)

// FreeSpace reports the bytes an unprivileged process may still write
// under dir, so that work needing room can be refused before it fills the
// disk.
func FreeSpace(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, &fs.PathError{Op: "statfs", Path: dir, Err: err}
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// dirSyncMatters: on Unix a folder must be synced for new names to be durable.
const dirSyncMatters = true
