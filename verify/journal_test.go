package verify_test

import (
	"strings"
	"testing"

	"github.com/siirto/siirto/verify"
)

// validJournals pairs journal numbers with their folder names. The two
// shapes from the authority's guidance come first.
var validJournals = []struct{ journal, folder string }{
	{"THL/1234/14.02.00/2023", "THL_1234_14.02.00_2023"},
	{"2022/53", "2022_53"},
	{"53", "53"},
	{"Kela/12-345/2024", "Kela_12-345_2024"},
	{"a.b/c-d", "a.b_c-d"},
	{"x/y", "x_y"},
	{strings.Repeat("a", verify.MaxJournal), strings.Repeat("a", verify.MaxJournal)},
}

func TestJournalFolderMapping(t *testing.T) {
	for _, tc := range validJournals {
		t.Run(tc.folder, func(t *testing.T) {
			if err := verify.CheckJournal(tc.journal); err != nil {
				t.Fatalf("CheckJournal(%q) = %v", tc.journal, err)
			}
			folder, err := verify.FolderName(tc.journal)
			if err != nil || folder != tc.folder {
				t.Fatalf("FolderName(%q) = %q, %v; want %q", tc.journal, folder, err, tc.folder)
			}
			journal, err := verify.JournalFromFolder(tc.folder)
			if err != nil || journal != tc.journal {
				t.Fatalf("JournalFromFolder(%q) = %q, %v; want %q", tc.folder, journal, err, tc.journal)
			}
		})
	}
}

func TestCheckJournalRefuses(t *testing.T) {
	for _, tc := range []struct{ name, journal string }{
		{"empty", ""},
		{"dot", "."},
		{"dotdot", ".."},
		{"traversal", "a/../b"},
		{"dot element", "a/./b"},
		{"dots element", "a/.../b"},
		{"absolute", "/abs"},
		{"empty element", "a//b"},
		{"underscore", "a_b"},
		{"NUL", "a\x00b"},
		{"tab", "a\tb"},
		{"newline", "2022/53\n"},
		{"DEL", "a\x7fb"},
		{"C1 control", "a\u0085b"},
		{"65 chars", strings.Repeat("a", verify.MaxJournal+1)},
		{"space", "THL 1234"},
		{"trailing slash", "2022/53/"},
		{"leading dash", "-53"},
		{"trailing dot", "2022/53."},
		{"backslash", `THL\1234`},
		{"colon", "C:53"},
		{"non-ASCII letter", "Ä/53"},
		{"fullwidth solidus", "2022／53"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verify.CheckJournal(tc.journal)
			if c := verify.CodeOf(err); c != verify.CodeJournalInvalid {
				t.Fatalf("CheckJournal(%q): code %s (%v), want %s", tc.journal, c, err, verify.CodeJournalInvalid)
			}
			// FolderName must refuse exactly what CheckJournal refuses, so
			// an invalid number never becomes a folder.
			if f, err := verify.FolderName(tc.journal); verify.CodeOf(err) != verify.CodeJournalInvalid {
				t.Fatalf("FolderName(%q) = %q, %v; want %s", tc.journal, f, err, verify.CodeJournalInvalid)
			}
		})
	}
}

func TestJournalFromFolderRefuses(t *testing.T) {
	for _, folder := range []string{
		"", ".", "..", ".hidden", "a/b", "THL/1234", "_x", "x_", "x__y", "a_._b", "a_.._b",
		"THL 1234", "a\x00b", `a\b`, strings.Repeat("a", verify.MaxJournal+1),
	} {
		t.Run(folder, func(t *testing.T) {
			j, err := verify.JournalFromFolder(folder)
			if c := verify.CodeOf(err); c != verify.CodeJournalInvalid {
				t.Fatalf("JournalFromFolder(%q) = %q, %v; want %s", folder, j, err, verify.CodeJournalInvalid)
			}
		})
	}
}

func TestParseJournalFile(t *testing.T) {
	const want = "THL/1234/14.02.00/2023"
	for _, tc := range []struct{ name, data string }{
		{"bare", want},
		{"LF", want + "\n"},
		{"CRLF", want + "\r\n"},
		{"BOM", "\ufeff" + want},
		{"BOM and CRLF", "\ufeff" + want + "\r\n"},
		{"surrounding spaces", "  " + want + " \t"},
		{"blank lines after", want + "\n\n\r\n"},
		{"blank lines before", "\r\n" + want},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := verify.ParseJournalFile([]byte(tc.data))
			if err != nil || got != want {
				t.Fatalf("ParseJournalFile(%q) = %q, %v; want %q", tc.data, got, err, want)
			}
		})
	}
}

func TestParseJournalFileRefuses(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"empty", ""},
		{"only blanks", " \r\n"},
		{"only BOM", "\ufeff"},
		{"two lines", "2022/53\n2022/54\n"},
		{"two lines CRLF", "2022/53\r\n2022/54"},
		{"lone CR between", "2022/53\r2022/54"},
		{"not UTF-8", "2022/53\xff"},
		{"UTF-16 BOM", "\xff\xfe2\x000\x00"},
		{"two BOMs", "\ufeff\ufeff2022/53"},
		{"label", "journal number: 2022/53"},
		{"invalid number", "a_b"},
		{"huge", strings.Repeat(" ", 5000) + "2022/53"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := verify.ParseJournalFile([]byte(tc.data))
			if c := verify.CodeOf(err); c != verify.CodeJournalInvalid {
				t.Fatalf("ParseJournalFile(%q) = %q, %v; want %s", tc.data, got, err, verify.CodeJournalInvalid)
			}
		})
	}
}
