package testserver

import "syscall"

// pgProcAttr runs a PostgreSQL program as cred's user (nil: as the test's
// own), and makes the kernel ask the server for a fast shutdown (SIGINT)
// if the test binary dies before its cleanup could stop it. Go sets the
// death signal after switching user, so the switch does not clear it.
func pgProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
}
