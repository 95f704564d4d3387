package verify

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// JournalFile is the name of the file in a journal folder that holds the
// folder's journal number. It is the source of truth for that number.
const JournalFile = "journal_number.txt"

// MaxJournal bounds a journal number's length.
const MaxJournal = 64

// CheckJournal reports whether s is a canonical journal number: 1 to 64
// characters from A-Z a-z 0-9 . - /, starting and ending with a letter or
// digit, with no empty, "." or ".." element between slashes. Underscore
// is not allowed because it stands for "/" in folder names.
func CheckJournal(s string) error {
	if s == "" {
		return Errorf(CodeJournalInvalid, "the journal number is empty")
	}
	if len(s) > MaxJournal {
		return Errorf(CodeJournalInvalid, "the journal number is %d characters long (at most %d)", len(s), MaxJournal)
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '/':
		default:
			return Errorf(CodeJournalInvalid, "the journal number %q has the character %q at position %d", s, r, i+1)
		}
	}
	if !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return Errorf(CodeJournalInvalid, "the journal number %q must start and end with a letter or digit", s)
	}
	for _, part := range strings.Split(s, "/") {
		if part == "" || strings.Trim(part, ".") == "" {
			return Errorf(CodeJournalInvalid, "the journal number %q has an empty or dot-only part between slashes", s)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// FolderName maps a journal number to its folder name: every "/" becomes
// "_", so THL/1234/14.02.00/2023 lives in THL_1234_14.02.00_2023. The
// mapping is one-to-one because journal numbers never hold "_".
func FolderName(journal string) (string, error) {
	if err := CheckJournal(journal); err != nil {
		return "", err
	}
	return strings.ReplaceAll(journal, "/", "_"), nil
}

// JournalFromFolder is the inverse of FolderName. It refuses any name that
// FolderName could not have produced.
func JournalFromFolder(folder string) (string, error) {
	if strings.Contains(folder, "/") {
		return "", Errorf(CodeJournalInvalid, "the folder name %q contains a slash", folder)
	}
	j := strings.ReplaceAll(folder, "_", "/")
	if err := CheckJournal(j); err != nil {
		return "", Errorf(CodeJournalInvalid, "the folder %q is not named after a journal number: %s", folder, AsError(err).Detail)
	}
	return j, nil
}

// ParseJournalFile reads the contents of journal_number.txt: one line of
// UTF-8, optionally with a byte-order mark, surrounding blanks and a final
// line ending (as Windows editors leave them). What remains must be a
// canonical journal number.
func ParseJournalFile(data []byte) (string, error) {
	if len(data) > 4096 {
		return "", Errorf(CodeJournalInvalid, "%s is %d bytes, far more than one journal number", JournalFile, len(data))
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return "", Errorf(CodeJournalInvalid, "%s is not UTF-8 text", JournalFile)
	}
	s := strings.TrimSpace(string(data))
	if strings.ContainsAny(s, "\r\n") {
		return "", Errorf(CodeJournalInvalid, "%s has more than one line", JournalFile)
	}
	if err := CheckJournal(s); err != nil {
		return "", err
	}
	return s, nil
}
