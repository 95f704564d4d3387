package encrypt

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
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
		switch {
		case p == "":
			return bad("has an empty path element")
		case p == "." || p == "..":
			return bad("has a . or .. path element")
		case strings.HasSuffix(p, ".") || strings.HasSuffix(p, " "):
			// Windows drops them, so "a." would land on "a".
			return bad("has a path element ending in a dot or space")
		case windowsDevice[strings.ToLower(strings.SplitN(p, ".", 2)[0])]:
			return bad("uses a Windows device name")
		}
	}
	return nil
}

var windowsDevice = map[string]bool{"con": true, "prn": true, "aux": true, "nul": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true, "com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true, "lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true}

// FoldName is the form in which two entry names collide on some desktop:
// case-folded (Windows, macOS) and Unicode-normalised (macOS stores "ä" as
// "a" and a combining mark). Duplicates are detected on this form.
func FoldName(name string) string {
	return strings.ToLower(norm.NFC.String(name))
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
