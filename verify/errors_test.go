package verify_test

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// declaredCodes reads errors.go and returns every constant of type Code,
// so a code added without a table entry fails the test below instead of
// showing "Something unexpected went wrong" to a user.
func declaredCodes(t *testing.T) map[string]verify.Code {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]verify.Code{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for i, n := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("code %s is not a string literal", n.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				codes[n.Name] = verify.Code(v)
			}
		}
	}
	if len(codes) < 30 {
		t.Fatalf("found only %d Code constants in errors.go; the parser missed some", len(codes))
	}
	return codes
}

func TestEveryCodeIsDocumented(t *testing.T) {
	declared := declaredCodes(t)
	infos := verify.Codes()
	inTable := map[verify.Code]bool{}
	for i, info := range infos {
		if i > 0 && infos[i-1].Code >= info.Code {
			t.Errorf("Codes() is not sorted and unique at %s", info.Code)
		}
		inTable[info.Code] = true
	}
	values := map[verify.Code]string{}
	for name, c := range declared {
		if prev, dup := values[c]; dup {
			t.Errorf("%s and %s are both %q", prev, name, c)
		}
		values[c] = name
		if !inTable[c] {
			t.Errorf("%s (%s) has no entry in the table", name, c)
		}
		if !strings.HasPrefix(string(c), "E_") || strings.ToUpper(string(c)) != string(c) {
			t.Errorf("%s = %q does not look like E_UPPER_CASE", name, c)
		}
	}
	for c := range inTable {
		if _, ok := values[c]; !ok {
			t.Errorf("the table documents %s, which is not a declared constant", c)
		}
	}
}

func TestCodeTexts(t *testing.T) {
	for _, info := range verify.Codes() {
		t.Run(string(info.Code), func(t *testing.T) {
			if info.Class < verify.ClassInternal || info.Class > verify.ClassRemote {
				t.Errorf("class %d is not one of the exit classes", info.Class)
			}
			for _, txt := range []struct {
				what string
				t    verify.Text
			}{{"title", info.Title}, {"advice", info.Advice}} {
				for _, lang := range []string{"en", "fi", "sv"} {
					if strings.TrimSpace(txt.t.In(lang)) == "" {
						t.Errorf("%s in %s is empty", txt.what, lang)
					}
				}
				// A copy of the English text is a missing translation.
				if txt.t.FI == txt.t.EN || txt.t.SV == txt.t.EN {
					t.Errorf("%s is not translated: %q", txt.what, txt.t.EN)
				}
			}
			if got := verify.Lookup(info.Code); got.Code != info.Code {
				t.Errorf("Lookup(%s) = %s", info.Code, got.Code)
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	if got := verify.Lookup("E_NO_SUCH_CODE"); got.Code != verify.CodeInternal {
		t.Fatalf("Lookup of an unknown code = %s, want %s", got.Code, verify.CodeInternal)
	}
}

func TestTextIn(t *testing.T) {
	txt := verify.Text{EN: "en", FI: "fi", SV: "sv"}
	for lang, want := range map[string]string{"en": "en", "fi": "fi", "sv": "sv", "de": "en", "": "en"} {
		if got := txt.In(lang); got != want {
			t.Errorf("In(%q) = %q, want %q", lang, got, want)
		}
	}
}

func TestCodeOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want verify.Code
	}{
		{nil, verify.CodeInternal},
		{errors.New("something"), verify.CodeInternal},
		{verify.Errorf(verify.CodeTampered, "x"), verify.CodeTampered},
		{fmt.Errorf("context: %w", verify.Errorf(verify.CodeWrongKey, "x")), verify.CodeWrongKey},
		{fmt.Errorf("%w: ../x", encrypt.ErrUnsafeName), verify.CodeEntryInvalid},
		{fmt.Errorf("%w: a", encrypt.ErrDuplicate), verify.CodeEntryDuplicate},
		{fmt.Errorf("%w: a", encrypt.ErrSymlink), verify.CodeEntrySymlink},
		{encrypt.ErrZipEncrypted, verify.CodeZipEncrypted},
		{encrypt.ErrZipInvalid, verify.CodeZipInvalid},
		{fmt.Errorf("open: %w", zip.ErrFormat), verify.CodeZipInvalid},
		{encrypt.ErrZipBomb, verify.CodeZipBomb},
		{encrypt.ErrDiskSpace, verify.CodeDiskFull},
		{encrypt.ErrExists, verify.CodeExists},
		{encrypt.ErrListingFormat, verify.CodeListingInvalid},
		{encrypt.ErrNotCrypt4GH, verify.CodeNotCrypt4GH},
		{encrypt.ErrHeader, verify.CodeHeaderInvalid},
		{encrypt.ErrWrongKey, verify.CodeWrongKey},
		{encrypt.ErrTampered, verify.CodeTampered},
		{encrypt.ErrTruncated, verify.CodeTruncated},
		{encrypt.ErrUnsupported, verify.CodeUnsupported},
		{encrypt.ErrKeyFormat, verify.CodeKeyInvalid},
		{encrypt.ErrPassphraseRequired, verify.CodePassphrase},
		{encrypt.ErrPassphrase, verify.CodePassphrase},
		{&fs.PathError{Op: "mkdir", Path: "/x", Err: os.ErrExist}, verify.CodeExists},
		{&fs.PathError{Op: "open", Path: "/x", Err: os.ErrNotExist}, verify.CodeIO},
		{&fs.PathError{Op: "open", Path: "/x", Err: os.ErrPermission}, verify.CodeIO},
		{context.Canceled, verify.CodeInterrupted},
	} {
		if got := verify.CodeOf(tc.err); got != tc.want {
			t.Errorf("CodeOf(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

func TestErrorfWrapsCause(t *testing.T) {
	err := verify.Errorf(verify.CodeTruncated, "ends early: %w", encrypt.ErrTampered)
	if !errors.Is(err, encrypt.ErrTampered) {
		t.Error("Errorf with %w does not unwrap to its cause")
	}
	if err.Code != verify.CodeTruncated || !strings.HasPrefix(err.Error(), "E_TRUNCATED: ends early") {
		t.Errorf("Errorf = %q (code %s)", err.Error(), err.Code)
	}
	if got := (&verify.Error{Code: verify.CodeIO}).Error(); got != "E_IO: "+verify.Lookup(verify.CodeIO).Title.EN {
		t.Errorf("an Error without detail reads %q", got)
	}
}

func TestAsError(t *testing.T) {
	if verify.AsError(nil) != nil {
		t.Error("AsError(nil) is not nil")
	}
	e := verify.AsError(fmt.Errorf("reading: %w", encrypt.ErrTampered))
	if e.Code != verify.CodeTampered || !errors.Is(e, encrypt.ErrTampered) {
		t.Errorf("AsError = %+v", e)
	}
	orig := verify.Errorf(verify.CodeNameInvalid, "x")
	if verify.AsError(fmt.Errorf("wrapped: %w", orig)) != orig {
		t.Error("AsError does not return the *Error already in the chain")
	}
}

func TestMessage(t *testing.T) {
	err := verify.Errorf(verify.CodeJournalMismatch, "folder 2022_53, manifest 2022/54")
	for _, lang := range []string{"en", "fi", "sv"} {
		info := verify.Lookup(verify.CodeJournalMismatch)
		msg := verify.Message(err, lang)
		for _, want := range []string{info.Title.In(lang), info.Advice.In(lang), "E_JOURNAL_MISMATCH", "folder 2022_53"} {
			if !strings.Contains(msg, want) {
				t.Errorf("Message(%s) = %q, missing %q", lang, msg, want)
			}
		}
	}
}

func TestDiskFullCode(t *testing.T) {
	err := &fs.PathError{Op: "write", Path: "/x/cohort.c4gh", Err: syscall.ENOSPC}
	if got := verify.CodeOf(fmt.Errorf("encrypting: %w", err)); got != verify.CodeDiskFull {
		t.Fatalf("ENOSPC maps to %s, want %s", got, verify.CodeDiskFull)
	}
	if got := verify.CodeOf(&fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}); got != verify.CodeIO {
		t.Fatalf("a missing file maps to %s, want %s", got, verify.CodeIO)
	}
}
