//go:build !unix

package encrypt

import (
	"strings"
)

// freeSpace is unknown here; extraction then relies on write errors.
func freeSpace(string) (uint64, bool) { return 0, false }

func isDiskFull(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "not enough space")
}

// dirSyncMatters: Windows cannot sync a folder handle; NTFS journals names itself.
const dirSyncMatters = false
