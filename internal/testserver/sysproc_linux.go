package testserver

import "syscall"

// sysProcAttr makes the kernel send SIGTERM to a server whose test binary
// died (a timeout's panic, a kill) before its cleanup could stop it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
