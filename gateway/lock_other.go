//go:build !unix

package gateway

// lockServe is a no-op where flock is missing; run one serve per folder.
func lockServe(string) (func(), error) { return func() {}, nil }
