package encrypt_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/siirto/siirto/encrypt"
)

// FuzzCheckEntryName checks that every name CheckEntryName accepts stays
// inside the folder it is extracted into.
func FuzzCheckEntryName(f *testing.F) {
	for _, s := range []string{
		"a.txt", "data/cohort.csv", "dir/", "report..v2.txt", "a/b/c/",
		"", "/", "/etc/x", "../evil.txt", "a/../../b", "a/./b", "a//b", "a\\b",
		"..\\evil", "C:evil", "a/..", "..", ".", "./a", "a\x00b", "a\x7fb", "\xff",
		"a/\u0085b", strings.Repeat("x", encrypt.MaxEntryName+1),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := encrypt.CheckEntryName(name)
		if err != nil {
			if !errors.Is(err, encrypt.ErrUnsafeName) {
				t.Fatalf("CheckEntryName(%q) = %v, which does not wrap ErrUnsafeName", name, err)
			}
			return
		}
		joined := filepath.Join("/base", filepath.FromSlash(name))
		if !strings.HasPrefix(joined, "/base/") {
			t.Fatalf("accepted %q extracts to %q, outside /base/", name, joined)
		}
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			t.Fatalf("accepted %q is not a local path", name)
		}
		for _, elem := range strings.Split(name, "/") {
			if elem == ".." {
				t.Fatalf("accepted %q has a .. element", name)
			}
		}
		switch {
		case strings.HasPrefix(name, "/"):
			t.Fatalf("accepted %q is absolute", name)
		case strings.Contains(name, "\\"):
			t.Fatalf("accepted %q has a backslash", name)
		case len(name) > encrypt.MaxEntryName:
			t.Fatalf("accepted a %d-byte name", len(name))
		}
	})
}

// FuzzParseHeader checks that no header, however malformed, crashes the
// parser or the packet decryption, and that a parsed header consumes
// exactly the bytes it claims.
func FuzzParseHeader(f *testing.F) {
	pk, sk := genKey(f)
	other, _ := genKey(f)
	for _, to := range [][]encrypt.PublicKey{{pk}, {pk, other}} {
		var buf bytes.Buffer
		w, err := encrypt.NewWriter(&buf, nil, to, nil)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := w.Write([]byte("some plaintext")); err != nil {
			f.Fatal(err)
		}
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
		f.Add(buf.Bytes()[:buf.Len()/2])
	}
	f.Add([]byte("crypt4gh"))
	f.Add([]byte("crypt4gh\x01\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("crypt4gh\x01\x00\x00\x00\xff\xff\xff\xff"))
	f.Add([]byte("PK\x03\x04 not a crypt4gh file"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		h, err := encrypt.ParseHeader(r)
		if err != nil {
			if !errors.Is(err, encrypt.ErrNotCrypt4GH) && !errors.Is(err, encrypt.ErrHeader) && !errors.Is(err, encrypt.ErrTruncated) {
				t.Fatalf("ParseHeader error has no sentinel: %v", err)
			}
			return
		}
		if consumed := int64(len(data) - r.Len()); consumed != h.Size {
			t.Fatalf("header claims %d bytes, parser consumed %d", h.Size, consumed)
		}
		if len(h.Packets) == 0 {
			t.Fatal("a header without packets was accepted")
		}
		_, fresh, err := encrypt.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		// A key made after the header cannot be among its readers.
		if _, err := h.DataKey(fresh); err == nil {
			t.Fatal("DataKey opened a header with a key made after it")
		} else if !errors.Is(err, encrypt.ErrWrongKey) && !errors.Is(err, encrypt.ErrHeader) {
			t.Fatalf("DataKey with a fresh key: unexpected error %v", err)
		}
		// The seeds' real reader key exercises the decrypted-packet paths
		// on mutated headers; any outcome but a panic or a bare error is fine.
		if _, err := h.DataKey(sk); err != nil && !errors.Is(err, encrypt.ErrWrongKey) &&
			!errors.Is(err, encrypt.ErrHeader) && !errors.Is(err, encrypt.ErrUnsupported) {
			t.Fatalf("DataKey with the reader key: unexpected error %v", err)
		}
	})
}

// fuzzLimits keeps every fuzz input's expansion to 1 MiB.
var fuzzLimits = encrypt.Limits{MaxSize: 1 << 20}

// FuzzUnpack feeds arbitrary bytes through the zip reader and Unpack's
// checks: no panic, no unbounded allocation, and every refusal carries a
// sentinel error that verify can turn into a stable code.
func FuzzUnpack(f *testing.F) {
	f.Add(packedZip(f))
	f.Add(rawZip(f, zipEntry{name: "../evil", body: "x"}))
	f.Add(rawZip(f, zipEntry{name: "a.txt", body: "one"}, zipEntry{name: "A.TXT", body: "two"}))
	f.Add(rawZip(f, zipEntry{name: "link", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777}))
	f.Add(rawZip(f, zipEntry{name: "dir/", mode: fs.ModeDir | 0o700}, zipEntry{name: "dir/a", body: "a"}))
	f.Add(rawZip(f, zipEntry{name: encrypt.ListingName, body: `{"format":"siirto-listing/1","files":[]}`}))
	f.Add(rawZip(f, zipEntry{name: "zeros", body: strings.Repeat("\x00", 1<<16)}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		// Under GODEBUG=zipinsecurepath=0 an unsafe name comes with a
		// usable reader; Unpack must then refuse it itself.
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
			return
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res, err := encrypt.Unpack(context.Background(), zr, "", fuzzLimits, nil)
		runtime.ReadMemStats(&after)
		// Allowance: the 1 MiB copy buffer, the 1 MiB expansion limit
		// (the listing is read into memory, growing by doubling) and a
		// decompressor per entry. Anything beyond means a size was trusted.
		budget := uint64(16<<20) + uint64(len(zr.File))*(64<<10)
		if used := after.TotalAlloc - before.TotalAlloc; used > budget {
			t.Fatalf("Unpack allocated %d bytes for a %d-byte zip with %d entries (budget %d)", used, len(data), len(zr.File), budget)
		}
		if err != nil {
			for _, s := range []error{encrypt.ErrUnsafeName, encrypt.ErrDuplicate, encrypt.ErrSymlink,
				encrypt.ErrZipEncrypted, encrypt.ErrZipInvalid, encrypt.ErrZipBomb, encrypt.ErrListingFormat} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("Unpack error has no sentinel: %v", err)
		}
		var total int64
		seen := map[string]bool{}
		for _, lf := range res.Files {
			if err := encrypt.CheckEntryName(lf.Path); err != nil {
				t.Fatalf("Unpack read an unsafe entry: %v", err)
			}
			key := strings.ToLower(lf.Path)
			if seen[key] {
				t.Fatalf("Unpack read %q twice", lf.Path)
			}
			seen[key] = true
			total += lf.Size
		}
		if total > fuzzLimits.MaxSize {
			t.Fatalf("Unpack read %d bytes, over the %d limit", total, fuzzLimits.MaxSize)
		}
	})
}

// FuzzUnpackNames reaches what FuzzUnpack's mutated bytes rarely do: a
// well-formed zip with hostile names, extracted for real. Whatever the
// names, nothing may appear outside the extraction folder, and a refused
// zip leaves nothing at all.
func FuzzUnpackNames(f *testing.F) {
	for _, names := range [][2]string{
		{"a.txt", "b/c.txt"}, {"../evil", "a"}, {"a/", "a/b"}, {"a", "a/b"}, {"a", "A"},
		{"d/", "D/"}, {"/abs", "x"}, {`..\x`, "y"}, {".siirto/listing.json", "z"}, {"a", encrypt.ListingName},
	} {
		f.Add(names[0], names[1], []byte("body"))
	}
	f.Fuzz(func(t *testing.T, a, b string, body []byte) {
		if len(body) > 4096 {
			body = body[:4096]
		}
		data := rawZip(t, zipEntry{name: a, body: string(body)}, zipEntry{name: b, body: "second"})
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
			t.Fatalf("archive/zip cannot read what it wrote: %v", err)
		}
		parent := t.TempDir()
		out := filepath.Join(parent, "out")
		res, err := encrypt.Unpack(context.Background(), zr, out, fuzzLimits, nil)
		entries, rerr := os.ReadDir(parent)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if err != nil {
			if len(entries) != 0 {
				t.Fatalf("a refused zip (%v) left %d entries behind", err, len(entries))
			}
			return
		}
		if len(entries) != 1 || entries[0].Name() != "out" {
			t.Fatalf("extraction wrote outside %s: %v", out, entries)
		}
		for _, lf := range res.Files {
			got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(lf.Path)))
			if err != nil || int64(len(got)) != lf.Size {
				t.Fatalf("%q was reported but not extracted as read: %v", lf.Path, err)
			}
		}
	})
}

func genKey(t testing.TB) (encrypt.PublicKey, encrypt.SecretKey) {
	t.Helper()
	pk, sk, err := encrypt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return pk, sk
}

// packedZip returns what Pack makes of a small folder: the shape of every
// zip siirto itself writes, listing included.
func packedZip(t testing.TB) []byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "study")
	for name, body := range map[string]string{"a.csv": "id,x\n1,2\n", "sub/b.txt": "hello"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files, _, err := encrypt.Plan([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := encrypt.Pack(context.Background(), &buf, files, encrypt.PackOptions{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zipEntry struct {
	name, body string
	mode       fs.FileMode
}

// rawZip writes entries exactly as given, unsafe names included, which
// Pack would refuse to produce.
func rawZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.name, "/") {
			continue // a folder entry holds no data
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
