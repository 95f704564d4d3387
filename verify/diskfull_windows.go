package verify

import "syscall"

// ERROR_DISK_FULL.
const diskFullWindows = syscall.Errno(112)
