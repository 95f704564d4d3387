package verify_test

import (
	"strings"
	"testing"

	"github.com/siirto/siirto/verify"
)

func TestCheckNameAccepts(t *testing.T) {
	for _, name := range []string{
		"cohort", "Cohort_2023-05.v2", "A", "7", "data.final", "x.receipts", "console",
		"con_data", "journal", "a-b_c.d", strings.Repeat("n", verify.MaxName),
	} {
		if err := verify.CheckName(name); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", name, err)
		}
	}
}

func TestCheckNameRefuses(t *testing.T) {
	for _, tc := range []struct{ why, name string }{
		{"empty", ""},
		{"space", "my data"},
		{"slash", "a/b"},
		{"backslash", `a\b`},
		{"comma", "a,b"},
		{"question mark", "a?"},
		{"plus", "a+b"},
		{"parenthesis", "a)"},
		{"bracket", "a["},
		{"colon", "a:b"},
		{"asterisk", "a*"},
		{"NUL", "a\x00"},
		{"non-ASCII", "tiedostö"},
		{"dotdot", ".."},
		{"inner dotdot", "a..b"},
		{"leading dot", ".hidden"},
		{"leading dash", "-x"},
		{"leading underscore", "_x"},
		{"trailing dot", "x."},
		{"CON", "CON"},
		{"con lower", "con"},
		{"con with extension", "con.txt"},
		{"COM1", "COM1"},
		{"LPT9", "lpt9.data"},
		{"NUL device", "Nul"},
		{"journal_number", "journal_number"},
		{"journal_number upper", "JOURNAL_NUMBER"},
		{"journal_number.txt", "journal_number.txt"},
		{"receipt", "x.receipt"},
		{"receipt upper", "x.RECEIPT"},
		{"zip", "x.zip"},
		{"c4gh", "x.c4gh"},
		{"101 chars", strings.Repeat("n", verify.MaxName+1)},
	} {
		t.Run(tc.why, func(t *testing.T) {
			err := verify.CheckName(tc.name)
			if c := verify.CodeOf(err); c != verify.CodeNameInvalid {
				t.Fatalf("CheckName(%q): code %s (%v), want %s", tc.name, c, err, verify.CodeNameInvalid)
			}
		})
	}
}

func TestNameFromZip(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"cohort.zip", "cohort"},
		{"Cohort_2023.ZIP", "Cohort_2023"},
		{"a.b.zip", "a.b"},
	} {
		got, err := verify.NameFromZip(tc.file)
		if err != nil || got != tc.want {
			t.Errorf("NameFromZip(%q) = %q, %v; want %q", tc.file, got, err, tc.want)
		}
	}
	for _, file := range []string{"cohort", "cohort.tar", ".zip", "my data.zip", "x.zip.zip", "CON.zip"} {
		got, err := verify.NameFromZip(file)
		if c := verify.CodeOf(err); c != verify.CodeNameInvalid {
			t.Errorf("NameFromZip(%q) = %q, %v; want %s", file, got, err, verify.CodeNameInvalid)
		}
	}
	// The detail speaks of the zip, which is what the user picked.
	_, err := verify.NameFromZip("my data.zip")
	if e := verify.AsError(err); e == nil || !strings.Contains(e.Detail, "zip name") {
		t.Errorf("NameFromZip detail = %v, want it to mention the zip name", err)
	}
}
