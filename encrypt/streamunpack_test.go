package encrypt

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// streamUnpack runs both passes over a plaintext zip in memory.
func streamUnpack(data []byte, dir string, limits Limits) (*Unpacked, error) {
	tail, err := ReadZipTail(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	return StreamUnpack(context.Background(), tail, bytes.NewReader(data), dir, limits, nil)
}

// zipBytes writes a zip with build and returns its bytes.
func zipBytes(t *testing.T, build func(*zip.Writer)) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	build(zw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func create(t *testing.T, zw *zip.Writer, h *zip.FileHeader, body []byte) {
	t.Helper()
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
}

// raw writes an entry as given: sizes and CRC-32 may lie, and there is
// no data descriptor.
func raw(t *testing.T, zw *zip.Writer, h *zip.FileHeader, body []byte) {
	t.Helper()
	w, err := zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
}

// sameAsUnpack requires StreamUnpack to reach Unpack's verdict on data
// (the same sentinel, or the same files) and returns its result.
func sameAsUnpack(t *testing.T, data []byte, limits Limits) (*Unpacked, error) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	want, werr := Unpack(context.Background(), zr, "", limits, nil)
	got, gerr := streamUnpack(data, "", limits)
	if sentinel(gerr) != sentinel(werr) {
		t.Fatalf("StreamUnpack: %v; Unpack: %v", gerr, werr)
	}
	if werr == nil && describe(got) != describe(want) {
		t.Fatalf("StreamUnpack read %v; Unpack read %v", got, want)
	}
	return got, gerr
}

func describe(u *Unpacked) string {
	if u.Listing == nil {
		return fmt.Sprint(u.Files)
	}
	return fmt.Sprint(u.Files, *u.Listing)
}

func sentinel(err error) error {
	for _, s := range []error{ErrUnsafeName, ErrDuplicate, ErrSymlink, ErrZipEncrypted, ErrZipInvalid, ErrZipBomb, ErrListingFormat, ErrNoRandomAccess} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

func TestStreamUnpackExtracts(t *testing.T) {
	big := randomBytes(t, 3<<20, 7)
	data := zipBytes(t, func(zw *zip.Writer) {
		create(t, zw, &zip.FileHeader{Name: "d/deflated.bin", Method: zip.Deflate}, big)      // data descriptor
		create(t, zw, &zip.FileHeader{Name: "d/stored.txt", Method: zip.Store}, []byte("hi")) // data descriptor
		create(t, zw, &zip.FileHeader{Name: "empty/", Method: zip.Store}, nil)
		create(t, zw, &zip.FileHeader{Name: "zeros", Method: zip.Deflate}, make([]byte, 1000))
		body := []byte("raw, no descriptor")
		raw(t, zw, &zip.FileHeader{Name: "raw.txt", Method: zip.Store, CRC32: crc32.ChecksumIEEE(body),
			CompressedSize64: uint64(len(body)), UncompressedSize64: uint64(len(body))}, body)
	})
	want, err := sameAsUnpack(t, data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	got, err := streamUnpack(data, out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if describe(got) != describe(want) || len(got.Files) != 4 {
		t.Fatalf("read %v, want 4 files", got)
	}
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	for _, f := range zr.File {
		p := filepath.Join(out, filepath.FromSlash(f.Name))
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if f.FileInfo().IsDir() {
			if !info.IsDir() || info.Mode().Perm() != 0o700 {
				t.Errorf("%s: %v", f.Name, info.Mode())
			}
			continue
		}
		rc, _ := f.Open()
		body, _ := io.ReadAll(rc)
		disk, _ := os.ReadFile(p)
		if !bytes.Equal(disk, body) || info.Mode().Perm() != 0o600 {
			t.Errorf("%s differs on disk (mode %v)", f.Name, info.Mode())
		}
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("the extraction parent holds %d entries", len(entries))
	}
}

func TestStreamUnpackListing(t *testing.T) {
	data, listing := packToBytes(t, map[string]string{"in/a.csv": "1,2\n", "in/sub/b.txt": "b"})
	got, err := sameAsUnpack(t, data, Limits{})
	if err != nil || got.Listing == nil || len(got.Listing.Files) != len(listing.Files) {
		t.Fatalf("%v, %v", got, err)
	}
}

// TestStreamUnpackZip64 covers the zip64 end record (more than 65,535
// entries) and a zip64 size field (an entry declared over 4 GiB).
func TestStreamUnpackZip64(t *testing.T) {
	data := zipBytes(t, func(zw *zip.Writer) {
		for i := range 66_000 {
			raw(t, zw, &zip.FileHeader{Name: fmt.Sprintf("d%02d/%05d", i/1000, i), Method: zip.Store}, nil)
		}
	})
	if got, err := sameAsUnpack(t, data, Limits{}); err != nil || len(got.Files) != 66_000 {
		t.Fatalf("66,000 entries: %v", err)
	}
	huge := zipBytes(t, func(zw *zip.Writer) {
		raw(t, zw, &zip.FileHeader{Name: "huge", Method: zip.Deflate, CompressedSize64: 4, UncompressedSize64: 5 << 30}, []byte{1, 2, 3, 4})
	})
	if _, err := sameAsUnpack(t, huge, Limits{}); !errors.Is(err, ErrZipBomb) {
		t.Fatalf("a 5 GiB entry: %v, want ErrZipBomb", err)
	}
	if _, err := sameAsUnpack(t, huge, Limits{MaxRatio: 1 << 40}); !errors.Is(err, ErrZipInvalid) {
		t.Fatalf("a 5 GiB entry with 4 bytes of data: %v, want ErrZipInvalid", err)
	}
}

// TestStreamUnpackLyingSizes: the directory's sizes are the ones read,
// and lies are caught as Unpack catches them.
func TestStreamUnpackLyingSizes(t *testing.T) {
	body := bytes.Repeat([]byte("abc"), 1000)
	comp := deflated(t, body)
	for _, c := range []struct {
		name  string
		h     zip.FileHeader
		data  []byte
		wantE error
	}{
		{"expands past its size", zip.FileHeader{Method: zip.Deflate, CompressedSize64: uint64(len(comp)), UncompressedSize64: 100}, comp, ErrZipBomb},
		{"shorter than its size", zip.FileHeader{Method: zip.Deflate, CompressedSize64: uint64(len(comp)), UncompressedSize64: 4000}, comp, ErrZipInvalid},
		{"stored, longer", zip.FileHeader{Method: zip.Store, CompressedSize64: 10, UncompressedSize64: 5}, body[:10], ErrZipBomb},
		{"compressed size too short", zip.FileHeader{Method: zip.Deflate, CompressedSize64: 3, UncompressedSize64: 3000}, comp[:3], ErrZipInvalid},
		{"bad CRC-32", zip.FileHeader{Method: zip.Store, CRC32: 1, CompressedSize64: 10, UncompressedSize64: 10}, body[:10], ErrZipInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := c.h
			h.Name = "f"
			if h.CRC32 == 0 {
				h.CRC32 = crc32.ChecksumIEEE(body[:min(h.UncompressedSize64, uint64(len(body)))])
			}
			data := zipBytes(t, func(zw *zip.Writer) { raw(t, zw, &h, c.data) })
			if _, err := sameAsUnpack(t, data, Limits{}); !errors.Is(err, c.wantE) {
				t.Fatalf("%v, want %v", err, c.wantE)
			}
			parent := t.TempDir()
			if _, err := streamUnpack(data, filepath.Join(parent, "out"), Limits{}); err == nil {
				t.Fatal("extracted")
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Fatalf("a refused zip left %d entries behind", len(entries))
			}
		})
	}
}

// centralRecord returns the offset of the central directory record of
// the entry named name.
func centralRecord(t *testing.T, data []byte, name string) int {
	t.Helper()
	for i := 0; i < len(data)-lenCentralDir; i++ {
		if binary.LittleEndian.Uint32(data[i:]) == sigCentralDir {
			n := int(binary.LittleEndian.Uint16(data[i+28:]))
			if string(data[i+lenCentralDir:i+lenCentralDir+n]) == name {
				return i
			}
		}
	}
	t.Fatalf("no central directory record for %q", name)
	return 0
}

func twoStored(t *testing.T) []byte {
	return zipBytes(t, func(zw *zip.Writer) {
		for _, n := range []string{"a", "b"} {
			body := []byte("body of " + n)
			raw(t, zw, &zip.FileHeader{Name: n, Method: zip.Store, CRC32: crc32.ChecksumIEEE(body),
				CompressedSize64: uint64(len(body)), UncompressedSize64: uint64(len(body))}, body)
		}
	})
}

// TestUnpackOverlap: two directory entries sharing one body (the
// overlapping-entry zip bomb; archive/zip reads both) are refused by both
// paths, from a file and from a stream.
func TestUnpackOverlap(t *testing.T) {
	body := []byte("the same body")
	data := zipBytes(t, func(zw *zip.Writer) {
		for _, n := range []string{"a", "b"} {
			raw(t, zw, &zip.FileHeader{Name: n, Method: zip.Store, CRC32: crc32.ChecksumIEEE(body),
				CompressedSize64: uint64(len(body)), UncompressedSize64: uint64(len(body))}, body)
		}
	})
	binary.LittleEndian.PutUint32(data[centralRecord(t, data, "b")+42:], 0) // b's header is a's
	data[30] = 'b'                                                          // and names b: only the CD says a
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unpack(context.Background(), zr, "", Limits{}, nil); !errors.Is(err, ErrZipBomb) {
		t.Fatalf("Unpack: %v, want ErrZipBomb", err)
	}
	if _, err := streamUnpack(data, "", Limits{}); !errors.Is(err, ErrZipBomb) {
		t.Fatalf("StreamUnpack: %v, want ErrZipBomb", err)
	}
}

// TestStreamUnpackOverlap: two directory entries sharing one local
// header are refused before any data is read.
func TestStreamUnpackOverlap(t *testing.T) {
	data := twoStored(t)
	binary.LittleEndian.PutUint32(data[centralRecord(t, data, "b")+42:], 0)
	if _, err := streamUnpack(data, "", Limits{}); !errors.Is(err, ErrZipBomb) {
		t.Fatalf("overlapping entries: %v, want ErrZipBomb", err)
	}
	// An entry whose data runs into the central directory.
	data = twoStored(t)
	binary.LittleEndian.PutUint32(data[centralRecord(t, data, "b")+20:], 1000)
	binary.LittleEndian.PutUint32(data[centralRecord(t, data, "b")+24:], 1000)
	if _, err := streamUnpack(data, "", Limits{}); !errors.Is(err, ErrZipInvalid) {
		t.Fatalf("an entry over the directory: %v, want ErrZipInvalid", err)
	}
}

// TestStreamUnpackLocalName: the local header must name what the
// directory names (archive/zip does not check; extraction here does).
func TestStreamUnpackLocalName(t *testing.T) {
	data := twoStored(t)
	if data[30] != 'a' {
		t.Fatalf("unexpected layout")
	}
	data[30] = 'c'
	if _, err := streamUnpack(data, "", Limits{}); !errors.Is(err, ErrZipInvalid) {
		t.Fatalf("local name differs: %v, want ErrZipInvalid", err)
	}
	data = twoStored(t)
	binary.LittleEndian.PutUint16(data[8:], zip.Deflate)
	if _, err := streamUnpack(data, "", Limits{}); !errors.Is(err, ErrZipInvalid) {
		t.Fatalf("local method differs: %v, want ErrZipInvalid", err)
	}
}

// TestStreamUnpackPrefix defines what happens to data before the first
// entry, as in a self-extracting zip: with the offsets counted from the
// file's start (zip -A, zip.Writer.SetOffset) the prefix is skipped; with
// offsets counted from the zip's start the zip must be read as a file.
func TestStreamUnpackPrefix(t *testing.T) {
	prefix := bytes.Repeat([]byte("#!/bin/sh\n"), 100)
	var buf bytes.Buffer
	buf.Write(prefix)
	zw := zip.NewWriter(&buf)
	zw.SetOffset(int64(len(prefix)))
	create(t, zw, &zip.FileHeader{Name: "a.txt", Method: zip.Deflate}, []byte("after the prefix"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := sameAsUnpack(t, buf.Bytes(), Limits{}); err != nil || len(got.Files) != 1 {
		t.Fatalf("adjusted prefix: %v", err)
	}
	shifted := append(append([]byte(nil), prefix...), twoStored(t)...)
	if _, err := streamUnpack(shifted, "", Limits{}); !errors.Is(err, ErrNoRandomAccess) {
		t.Fatalf("unadjusted prefix: %v, want ErrNoRandomAccess", err)
	}
}

// TestStreamUnpackTailChanged: a directory streamed other than the one
// read first (the file changed between the passes) is refused.
func TestStreamUnpackTailChanged(t *testing.T) {
	data := twoStored(t)
	tail, err := ReadZipTail(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	changed := append([]byte(nil), data...)
	changed[centralRecord(t, changed, "b")+38] ^= 1 // external attributes
	_, err = StreamUnpack(context.Background(), tail, bytes.NewReader(changed), "", Limits{}, nil)
	if !errors.Is(err, ErrZipInvalid) || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("changed directory: %v", err)
	}
	_, err = StreamUnpack(context.Background(), tail, bytes.NewReader(data[:len(data)-1]), "", Limits{}, nil)
	if !errors.Is(err, ErrZipInvalid) {
		t.Fatalf("short stream: %v", err)
	}
}

func TestStreamUnpackRefusesAsUnpack(t *testing.T) {
	for name, build := range map[string]func(*zip.Writer){
		"zip-slip": func(zw *zip.Writer) { create(t, zw, &zip.FileHeader{Name: "../x"}, []byte("x")) },
		"duplicate": func(zw *zip.Writer) {
			create(t, zw, &zip.FileHeader{Name: "A"}, nil)
			create(t, zw, &zip.FileHeader{Name: "a"}, nil)
		},
		"symlink": func(zw *zip.Writer) {
			h := &zip.FileHeader{Name: "l"}
			h.SetMode(fs.ModeSymlink | 0o777)
			create(t, zw, h, []byte("/etc/passwd"))
		},
		"device": func(zw *zip.Writer) { create(t, zw, &zip.FileHeader{Name: "d/NUL.txt"}, nil) },
		"bad listing": func(zw *zip.Writer) {
			create(t, zw, &zip.FileHeader{Name: ListingName}, []byte("{"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := sameAsUnpack(t, zipBytes(t, build), Limits{}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := streamUnpack([]byte("not a zip at all"), "", Limits{}); !errors.Is(err, ErrZipInvalid) {
		t.Fatalf("not a zip: %v", err)
	}
}

// TestReadZipTailTooLarge: a central directory over MaxZipTail is left
// to the caller's file path.
func TestReadZipTailTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 70 MB zip")
	}
	long := strings.Repeat("n", 1000)
	data := zipBytes(t, func(zw *zip.Writer) {
		for i := range MaxZipTail/1046 + 10 {
			raw(t, zw, &zip.FileHeader{Name: fmt.Sprintf("%s%06d", long, i), Method: zip.Store}, nil)
		}
	})
	if _, err := ReadZipTail(bytes.NewReader(data), int64(len(data))); !errors.Is(err, ErrNoRandomAccess) {
		t.Fatalf("%v, want ErrNoRandomAccess", err)
	}
}

// failAfter reads n bytes of data, then fails with err.
type failAfter struct {
	data []byte
	n    int
	err  error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	k := copy(p, f.data[:min(len(f.data), f.n, len(p))])
	f.data, f.n = f.data[k:], f.n-k
	return k, nil
}

// TestStreamUnpackSourceFails: a source that fails in a local header is
// reported as what it is (here the decryptor's ErrTampered), not as a
// damaged zip.
func TestStreamUnpackSourceFails(t *testing.T) {
	data := twoStored(t)
	tail, err := ReadZipTail(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{10, 40, 60} { // in a's header, in b's, in b's body
		_, err := StreamUnpack(context.Background(), tail, &failAfter{data: data, n: cut, err: ErrTampered}, "", Limits{}, nil)
		if !errors.Is(err, ErrTampered) {
			t.Errorf("source failing after %d bytes: %v, want ErrTampered", cut, err)
		}
	}
}
