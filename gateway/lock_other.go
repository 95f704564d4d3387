//go:build !unix

package gateway

// lockServe is a no-op where flock is missing; run one serve per folder.
func lockServe(string) (func(), error) { return func() {}, nil }

// serveLockHeld says whether lockServe really excludes a second serve
// here (nothing holds it), so that serve may drop claims left by a crash.
const serveLockHeld = false
