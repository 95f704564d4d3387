package corpus

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// OpenUnder lists the files this process holds open under dir, as
// "open: PATH" (a removed file reads "PATH (deleted)"). Plaintext temp
// files lose their names as soon as they are made, so a listing alone can
// never show one left behind; an open descriptor can. Linux only (it
// reads /proc/self/fd); elsewhere it returns nothing.
func OpenUnder(t testing.TB, dir string) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		return nil
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // the links name the resolved path
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("looking for open files: %v", err)
	}
	var open []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			open = append(open, "open: "+target)
		}
	}
	return open
}
