//go:build !unix

package encrypt

import "errors"

// FreeSpace cannot tell here and returns errors.ErrUnsupported: callers
// then rely on the write itself failing when the disk fills.
func FreeSpace(string) (int64, error) { return 0, errors.ErrUnsupported }

// dirSyncMatters: Windows cannot sync a folder handle; NTFS journals names itself.
const dirSyncMatters = false
