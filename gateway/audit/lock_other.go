//go:build !unix

package audit

import "os"

// lockFile is a no-op here: the gateway runs its server and admin
// commands on Unix; elsewhere only one process may write the log.
func lockFile(*os.File) (unlock func(), err error) { return func() {}, nil }
