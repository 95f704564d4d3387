package verify

import (
	"errors"
	"syscall"
)

// isDiskFull recognises a full disk or an exhausted quota in any wrapped
// system error, so that the advice is to free space, not to check a path.
func isDiskFull(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	return errno == syscall.ENOSPC || errno == syscall.EDQUOT || errno == diskFullWindows
}
