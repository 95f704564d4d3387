//go:build !linux

package testserver

import "syscall"

// pgProcAttr runs PostgreSQL as the test's own user: switching to the
// postgres user (needed when testing as root) is done on Linux only.
func pgProcAttr(_ *syscall.Credential) *syscall.SysProcAttr { return nil }
