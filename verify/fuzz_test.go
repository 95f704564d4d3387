package verify_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// sampleManifest is a manifest that passes every schema rule; tests edit
// copies of it to break one rule at a time.
func sampleManifest() *encrypt.Manifest {
	return &encrypt.Manifest{
		Format:        encrypt.Format,
		JournalNumber: "THL/1234/14.02.00/2023",
		Created:       time.Date(2023, 5, 17, 9, 30, 0, 0, time.UTC),
		Tool:          encrypt.Tool{Name: "siirto", Version: "1.0.0"},
		Payload: encrypt.FileSums{Name: "cohort.c4gh", Size: 1234,
			SHA256: strings.Repeat("ab", 32)},
		Plaintext: encrypt.FileSums{Name: "cohort.zip", Size: 1000,
			SHA256: strings.Repeat("cd", 32)},
		Recipients: []encrypt.Recipient{{Fingerprint: "SHA256:" + strings.Repeat("A", 43)}},
		Sender:     encrypt.Sender{PublicKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", Ephemeral: true},
		Listing:    true,
	}
}

func mustMarshal(t testing.TB, m *encrypt.Manifest) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseManifest checks that whatever ParseManifest accepts survives a
// round trip through Marshal: the gateway re-serialises manifests into
// receipts, and a manifest that changes meaning on the way would be a
// silent corruption.
func FuzzParseManifest(f *testing.F) {
	good := mustMarshal(f, sampleManifest())
	f.Add(good)
	// A non-UTC offset: time values are the field most likely to shift.
	f.Add(bytes.Replace(good, []byte(`09:30:00Z`), []byte(`09:30:00+02:00`), 1))
	f.Add(bytes.Replace(good, []byte(`09:30:00Z`), []byte(`09:30:00.123456789-00:00`), 1))
	f.Add(bytes.Replace(good, []byte(`"siirto/1"`), []byte(`"siirto/2"`), 1))
	f.Add(bytes.Replace(good, []byte(`"listing"`), []byte(`"extra": 1, "listing"`), 1))
	f.Add(bytes.Replace(good, []byte(`"format"`), []byte(`"FORMAT"`), 1))
	f.Add(append(append([]byte{}, good...), []byte(`{}`)...))
	f.Add([]byte(`{"format":"siirto/1"}`))
	f.Add([]byte(`{"format":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`not json`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := verify.ParseManifest(data)
		if err != nil {
			// Refusals must carry one of the manifest codes, never E_INTERNAL.
			switch c := verify.CodeOf(err); c {
			case verify.CodeManifestInvalid, verify.CodeFormatUnsupported, verify.CodeJournalInvalid, verify.CodeNameInvalid:
			default:
				t.Fatalf("ParseManifest refused with code %s: %v", c, err)
			}
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("an accepted manifest does not marshal: %v", err)
		}
		m2, err := verify.ParseManifest(out)
		if err != nil {
			t.Fatalf("the re-marshalled manifest is refused: %v\n%s", err, out)
		}
		if !manifestsEqual(m, m2) {
			t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, m2)
		}
		// Marshal is canonical: a second round gives the same bytes.
		out2, err := m2.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("marshal is not stable (%v):\n%s\n%s", err, out, out2)
		}
	})
}

// manifestsEqual compares manifests field by field, the creation time as
// an instant: "+00:00" and "Z" are the same time with different
// *time.Location values, which reflect.DeepEqual would call different.
func manifestsEqual(a, b *encrypt.Manifest) bool {
	if !a.Created.Equal(b.Created) {
		return false
	}
	ac, bc := *a, *b
	ac.Created, bc.Created = time.Time{}, time.Time{}
	return reflect.DeepEqual(ac, bc)
}

// FuzzJournal checks the journal number to folder name mapping: it must
// be one-to-one on valid numbers, and no folder name it produces or
// accepts may leave the folder it lives in.
func FuzzJournal(f *testing.F) {
	for _, s := range []string{
		"THL/1234/14.02.00/2023", "2022/53", "THL_1234_14.02.00_2023", "2022_53",
		"", ".", "..", "a/../b", "/abs", "a//b", "a_b", "a/", "THL 1234", "x\x00y",
		"\ufeffTHL/1", " 2022/53\r\n", "2022/53\n2022/54", "a/./b", "a/.../b", "a__b",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "Ω/1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := verify.CheckJournal(s); err == nil {
			folder, err := verify.FolderName(s)
			if err != nil {
				t.Fatalf("FolderName(%q) refuses a valid journal number: %v", s, err)
			}
			checkFolderSafe(t, folder)
			back, err := verify.JournalFromFolder(folder)
			if err != nil || back != s {
				t.Fatalf("JournalFromFolder(%q) = %q, %v; want %q", folder, back, err, s)
			}
			// The canonical value is what journal_number.txt holds, with or
			// without the decorations Windows editors add.
			for _, file := range []string{s, s + "\n", "\ufeff" + s + "\r\n", "  " + s + "\t"} {
				if got, err := verify.ParseJournalFile([]byte(file)); err != nil || got != s {
					t.Fatalf("ParseJournalFile(%q) = %q, %v; want %q", file, got, err, s)
				}
			}
		} else if c := verify.CodeOf(err); c != verify.CodeJournalInvalid {
			t.Fatalf("CheckJournal(%q) refused with %s, want %s", s, c, verify.CodeJournalInvalid)
		}

		if j, err := verify.JournalFromFolder(s); err == nil {
			if verify.CheckJournal(j) != nil {
				t.Fatalf("JournalFromFolder(%q) = %q, which is not a valid journal number", s, j)
			}
			back, err := verify.FolderName(j)
			if err != nil || back != s {
				t.Fatalf("FolderName(JournalFromFolder(%q)) = %q, %v", s, back, err)
			}
			checkFolderSafe(t, s)
		} else if c := verify.CodeOf(err); c != verify.CodeJournalInvalid {
			t.Fatalf("JournalFromFolder(%q) refused with %s, want %s", s, c, verify.CodeJournalInvalid)
		}

		if j, err := verify.ParseJournalFile([]byte(s)); err == nil {
			if err := verify.CheckJournal(j); err != nil {
				t.Fatalf("ParseJournalFile(%q) = %q, which CheckJournal refuses: %v", s, j, err)
			}
		} else if c := verify.CodeOf(err); c != verify.CodeJournalInvalid {
			t.Fatalf("ParseJournalFile(%q) refused with %s, want %s", s, c, verify.CodeJournalInvalid)
		}
	})
}

// checkFolderSafe fails unless folder names exactly one ordinary entry of
// its parent folder.
func checkFolderSafe(t *testing.T, folder string) {
	t.Helper()
	switch {
	case folder == "", folder == ".", folder == "..":
		t.Fatalf("folder name %q is not an ordinary name", folder)
	case strings.ContainsAny(folder, "/\\"):
		t.Fatalf("folder name %q has a path separator", folder)
	case strings.HasPrefix(folder, "."):
		t.Fatalf("folder name %q is hidden", folder)
	}
}
