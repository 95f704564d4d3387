package testserver

import "syscall"

// pgProcAttr runs a PostgreSQL program as cred's user (nil: as the test's
// own), and makes the kernel ask the server for a fast shutdown (SIGINT)
// if the test binary dies before its cleanup could stop it. Go sets the
// death signal after switching user, so the switch does not clear it.
func pgProcAttr(u *osUser) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
	if u != nil {
		a.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid}
	}
	return a
}
