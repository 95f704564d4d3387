//go:build !linux

package testserver

import "syscall"

// pgProcAttr runs PostgreSQL as the test's own user: switching to the
// postgres user (needed when testing as root) is done on Linux only.
func pgProcAttr(*osUser) *syscall.SysProcAttr { return nil }
