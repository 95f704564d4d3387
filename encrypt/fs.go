package encrypt

import (
	"errors"
	"os"
	"runtime"
	"syscall"
)

// IsDiskFull tells whether err, however wrapped, is the system's report of
// a full disk or an exhausted quota, so that callers advise freeing space
// rather than blame a path. It matches error numbers, not messages: a
// message may quote a name the sender chose.
func IsDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		runtime.GOOS == "windows" && errors.Is(err, errDiskFullWindows)
}

// errDiskFullWindows is ERROR_DISK_FULL, what Windows reports instead of
// ENOSPC (elsewhere 112 means something else).
const errDiskFullWindows = syscall.Errno(112)

// SyncDir makes the names just created or renamed in dir durable. Where a
// folder cannot be synced (Windows), only failing to open it is an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && dirSyncMatters {
		return err
	}
	return nil
}
