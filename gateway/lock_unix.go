//go:build unix

package gateway

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockServe makes sure one Serve runs per data folder: two would stage
// and notify the same bundles twice.
func lockServe(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another siirto-gateway serve is running on this data folder (%s is locked)", path)
	}
	return func() { f.Close() }, nil
}

// serveLockHeld says whether lockServe really excludes a second serve
// here (flock holds it), so that serve may drop claims left by a crash.
const serveLockHeld = true
