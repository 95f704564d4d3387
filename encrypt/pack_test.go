package encrypt

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"data/a.csv": "a", "data/sub/b.csv": "bb", "data/.DS_Store": "junk",
		"data/__MACOSX/x": "junk", "single.txt": "s",
	})
	files, skipped, err := Plan([]string{filepath.Join(dir, "data"), filepath.Join(dir, "single.txt")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if got, want := strings.Join(names, ","), "data/a.csv,data/sub/b.csv,single.txt"; got != want {
		t.Errorf("planned %s, want %s", got, want)
	}
	if len(skipped) != 2 {
		t.Errorf("skipped %v, want .DS_Store and __MACOSX", skipped)
	}
}

func TestPlanRefuses(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"d/A.csv": "", "e/a.csv": "", "f/x": "", "g/.siirto/listing.json": "", "A.csv": "", "a.csv": ""})
	if err := os.Symlink(filepath.Join(dir, "f/x"), filepath.Join(dir, "f/link")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		inputs []string
		want   error
	}{
		{[]string{"f"}, ErrSymlink},
		{[]string{"f/link"}, ErrSymlink},
		{[]string{"A.csv", "a.csv"}, ErrDuplicate},
		{[]string{"d/A.csv", "e/a.csv"}, ErrDuplicate},
		{[]string{"g/.siirto"}, ErrUnsafeName},
	}
	for _, c := range cases {
		var in []string
		for _, i := range c.inputs {
			in = append(in, filepath.Join(dir, i))
		}
		if _, _, err := Plan(in); !errors.Is(err, c.want) {
			t.Errorf("%v: got %v, want %v", c.inputs, err, c.want)
		}
	}
	if _, _, err := Plan([]string{filepath.Join(dir, "missing")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing input: got %v", err)
	}
}

func packToBytes(t *testing.T, files map[string]string) ([]byte, *Listing) {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, files)
	srcs, _, err := Plan([]string{filepath.Join(dir, "in")})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	listing, err := Pack(context.Background(), &buf, srcs, PackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), listing
}

func TestPackUnpackRoundTrip(t *testing.T) {
	files := map[string]string{"in/a.csv": strings.Repeat("id;name\n", 5000), "in/deep/b.zip": "not really zip", "in/c": ""}
	z, listing := packToBytes(t, files)
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if last := zr.File[len(zr.File)-1]; last.Name != ListingName {
		t.Fatalf("last entry is %s, want the listing", last.Name)
	}
	for _, f := range zr.File {
		if f.Name == "in/deep/b.zip" && f.Method != zip.Store {
			t.Error("a .zip inside was compressed again")
		}
		if f.Name == "in/a.csv" && f.Method != zip.Deflate {
			t.Error("a .csv was not compressed")
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	res, err := Unpack(context.Background(), zr, out, Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 3 || res.Listing == nil || len(res.Listing.Files) != 3 {
		t.Fatalf("unpacked %d files and listing %+v", len(res.Files), res.Listing)
	}
	for i, f := range res.Files {
		if f != listing.Files[i] {
			t.Errorf("file %d: read %+v, listed %+v", i, f, listing.Files[i])
		}
	}
	for name, content := range files {
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil || string(got) != content {
			t.Errorf("%s: %v", name, err)
		}
	}
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := d.Info()
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unpack(context.Background(), zr, out, Limits{}, nil); !errors.Is(err, ErrExists) {
		t.Errorf("unpacking over an existing folder: got %v", err)
	}
}

func TestUnpackRejectLeavesNothing(t *testing.T) {
	z, _ := packToBytes(t, map[string]string{"in/a": "a"})
	zr, _ := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	parent := t.TempDir()
	reject := errors.New("listing does not match")
	_, err := Unpack(context.Background(), zr, filepath.Join(parent, "out"), Limits{}, func(*Unpacked) error { return reject })
	if !errors.Is(err, reject) {
		t.Fatalf("got %v", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Fatalf("left behind %v", entries)
	}
}

// rawZip builds a zip whose entries are written raw, so headers can lie.
func rawZip(t *testing.T, entries ...func(*zip.Writer)) *zip.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		e(zw)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func deflated(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	fw.Write(data)
	fw.Close()
	return b.Bytes()
}

func TestUnpackBombs(t *testing.T) {
	zeros := make([]byte, 8<<20)
	comp := deflated(t, zeros)
	lying := rawZip(t, func(zw *zip.Writer) {
		// Declares 1 KiB but inflates to 8 MiB: the declared size must not be trusted.
		w, _ := zw.CreateRaw(&zip.FileHeader{Name: "small.txt", Method: zip.Deflate,
			CompressedSize64: uint64(len(comp)), UncompressedSize64: 1024, CRC32: 0})
		w.Write(comp)
	})
	honest := rawZip(t, func(zw *zip.Writer) {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "zeros", Method: zip.Deflate})
		w.Write(zeros)
	})
	many := rawZip(t, func(zw *zip.Writer) {
		for i := range 20 {
			zw.Create(fmt.Sprint(i))
		}
	})
	// 100 entries of 1 MiB of zeros: each is under the per-entry floor,
	// but together they expand a thousand times.
	mib := deflated(t, make([]byte, 1<<20))
	spread := rawZip(t, func(zw *zip.Writer) {
		for i := range 100 {
			w, _ := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprint(i), Method: zip.Deflate,
				CompressedSize64: uint64(len(mib)), UncompressedSize64: 1 << 20})
			w.Write(mib)
		}
	})
	cases := []struct {
		name   string
		zr     *zip.Reader
		limits Limits
	}{
		{"many small entries", spread, Limits{}},
		{"lying size", lying, Limits{}},
		{"ratio", honest, Limits{}},
		{"total size", honest, Limits{MaxSize: 1 << 20, MaxRatio: 1 << 20}},
		{"entry count", many, Limits{MaxEntries: 10}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		_, err := Unpack(context.Background(), c.zr, filepath.Join(dir, "out"), c.limits, nil)
		if !errors.Is(err, ErrZipBomb) {
			t.Errorf("%s: got %v, want ErrZipBomb", c.name, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: left %v behind", c.name, entries)
		}
	}
}

func TestCheckZipRefuses(t *testing.T) {
	entry := func(name string, mode fs.FileMode, flags uint16) func(*zip.Writer) {
		return func(zw *zip.Writer) {
			h := &zip.FileHeader{Name: name, Method: zip.Store, Flags: flags}
			if mode != 0 {
				h.SetMode(mode)
			}
			w, _ := zw.CreateRaw(h)
			w.Write(nil)
		}
	}
	cases := []struct {
		name    string
		entries []func(*zip.Writer)
		want    error
	}{
		{"slip", []func(*zip.Writer){entry("../evil", 0, 0)}, ErrUnsafeName},
		{"absolute", []func(*zip.Writer){entry("/etc/passwd", 0, 0)}, ErrUnsafeName},
		{"backslash", []func(*zip.Writer){entry(`..\evil`, 0, 0)}, ErrUnsafeName},
		{"drive", []func(*zip.Writer){entry("C:evil", 0, 0)}, ErrUnsafeName},
		{"symlink", []func(*zip.Writer){entry("link", fs.ModeSymlink|0o777, 0)}, ErrSymlink},
		{"duplicate", []func(*zip.Writer){entry("a", 0, 0), entry("a", 0, 0)}, ErrDuplicate},
		{"case duplicate", []func(*zip.Writer){entry("Data.csv", 0, 0), entry("data.CSV", 0, 0)}, ErrDuplicate},
		{"unicode duplicate", []func(*zip.Writer){entry("\u00e4.txt", 0, 0), entry("a\u0308.txt", 0, 0)}, ErrDuplicate},
		{"file and folder", []func(*zip.Writer){entry("a", 0, 0), entry("a/b", 0, 0)}, ErrDuplicate},
		{"encrypted", []func(*zip.Writer){entry("secret", 0, 1)}, ErrZipEncrypted},
		{"listing not last", []func(*zip.Writer){entry(ListingName, 0, 0), entry("a", 0, 0)}, ErrUnsafeName},
	}
	for _, c := range cases {
		if _, err := CheckZip(rawZip(t, c.entries...), Limits{}); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestCheckEntryName(t *testing.T) {
	good := []string{"a", "a/b.csv", "Ääkköset/ñ.txt", "dir/", "a b/c d.txt", ".hidden", "console.txt", "a.b"}
	bad := []string{"", "/a", "a/../b", "..", ".", "a//b", "a\\b", "a\x00b", "a\nb", "c:x", strings.Repeat("a", MaxEntryName+1), "\xff",
		"a./b", "dir /x", "trailing ", "NUL", "nul.txt", "x/COM1.csv", "lpt9"}
	for _, n := range good {
		if err := CheckEntryName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range bad {
		if err := CheckEntryName(n); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("%q: got %v, want ErrUnsafeName", n, err)
		}
	}
}

// TestZip64ManyEntries packs more entries than the classic zip format
// can count, so the writer must switch to Zip64 and our reader follow.
// Every entry reads the same small file: the count is what matters.
func TestZip64ManyEntries(t *testing.T) {
	one := filepath.Join(t.TempDir(), "one")
	if err := os.WriteFile(one, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(one)
	if err != nil {
		t.Fatal(err)
	}
	const n = 70_000
	srcs := make([]Source, n)
	for i := range srcs {
		srcs[i] = Source{Path: one, Name: fmt.Sprintf("d%02d/%05d", i/1000, i), Info: info}
	}
	var buf bytes.Buffer
	if _, err := Pack(context.Background(), &buf, srcs, PackOptions{Store: true}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != n+1 {
		t.Fatalf("%d entries, want %d", len(zr.File), n+1)
	}
	res, err := Unpack(context.Background(), zr, "", Limits{}, nil)
	if err != nil || len(res.Listing.Files) != n || len(res.Files) != n {
		t.Fatalf("unpack: %v", err)
	}
}
