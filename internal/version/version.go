// Package version names the build of siirto's binaries.
package version

import "runtime/debug"

// Of returns set (the -ldflags "-X main.buildVersion=…" value) when not empty,
// else the module version of the build, else "dev".
func Of(set string) string {
	if set != "" {
		return set
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
