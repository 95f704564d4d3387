package encrypt

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxEntryName bounds a zip entry path in bytes.
const MaxEntryName = 1024

// CheckEntryName reports whether name is a safe path for a zip entry: a
// relative, slash-separated path that cannot escape the folder it is
// extracted into on Linux, macOS or Windows. Directory entries end in "/".
func CheckEntryName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %q %s", ErrUnsafeName, name, why) }
	switch {
	case name == "":
		return bad("is empty")
	case len(name) > MaxEntryName:
		return bad(fmt.Sprintf("is longer than %d bytes", MaxEntryName))
	case !utf8.ValidString(name):
		return bad("is not valid UTF-8")
	case strings.HasPrefix(name, "/"):
		return bad("is an absolute path")
	}
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return bad("contains a control character")
		case r == '\\':
			return bad("contains a backslash")
		case r == ':':
			// A drive letter or an NTFS stream on Windows.
			return bad("contains a colon")
		}
	}
	parts := strings.Split(strings.TrimSuffix(name, "/"), "/")
	for _, p := range parts {
		switch p {
		case "":
			return bad("has an empty path element")
		case ".", "..":
			return bad("has a . or .. path element")
		}
	}
	return nil
}

// Errors from packing and unpacking. Callers match them with errors.Is.
var (
	ErrUnsafeName    = errors.New("unsafe file name in the zip")
	ErrDuplicate     = errors.New("duplicate file name")
	ErrSymlink       = errors.New("symbolic links are not allowed")
	ErrZipEncrypted  = errors.New("the zip is password-protected")
	ErrZipInvalid    = errors.New("not a valid zip file")
	ErrZipBomb       = errors.New("the zip expands beyond the allowed limits")
	ErrDiskSpace     = errors.New("not enough free disk space")
	ErrExists        = errors.New("the output already exists")
	ErrListingFormat = errors.New("the inner listing is malformed")
)
