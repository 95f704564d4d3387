//go:build !windows

package verify

import "syscall"

// diskFullWindows never matches outside Windows.
const diskFullWindows = syscall.Errno(^uintptr(0))
