//go:build unix

package encrypt

import (
	"errors"
	"syscall"
)

// freeSpace reports the bytes available to unprivileged users under dir.
func freeSpace(dir string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}

func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// dirSyncMatters: on Unix a folder must be synced for new names to be durable.
const dirSyncMatters = true
