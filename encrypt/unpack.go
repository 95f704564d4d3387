package encrypt

import (
	"archive/zip"
	"bytes"
	"cmp"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Limits bound what an untrusted zip may expand to. The zero value means
// the defaults of [DefaultLimits].
type Limits struct {
	// MaxEntries is the most entries a zip may hold.
	MaxEntries int
	// MaxSize is the most bytes all entries may expand to.
	MaxSize int64
	// MaxRatio is the largest expansion ratio of one entry; deflate's
	// best is about 1032:1, so real data stays far below the default.
	MaxRatio int64
}

// DefaultLimits are generous for register extracts and tight for bombs.
var DefaultLimits = Limits{MaxEntries: 200_000, MaxSize: 8 << 40, MaxRatio: 200}

func (l Limits) orDefault() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultLimits.MaxSize
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultLimits.MaxRatio
	}
	return l
}

// ratioFloor keeps tiny files (a kilobyte of spaces) from tripping the
// ratio check: only entries that expand past it are judged.
const ratioFloor = 1 << 20

// CheckZip validates a zip's central directory: entry names, symlinks,
// duplicates, encryption, methods, the declared sizes against limits, and
// that no two entries share data (it reads the local headers for that,
// no data). It returns the sum of the declared sizes.
func CheckZip(zr *zip.Reader, limits Limits) (int64, error) {
	total, err := checkEntries(zr.File, limits)
	if err != nil {
		return 0, err
	}
	return total, checkOverlap(zr.File)
}

// checkOverlap refuses entries whose data share bytes: the overlapping-
// entry zip bomb points many directory entries at one compressed body, so
// that each stays within the ratio limit while the whole expands far
// beyond the zip. (StreamUnpack's layout check refuses the same.) It
// reads each entry's local header, as opening the entry would.
func checkOverlap(files []*zip.File) error {
	type span struct {
		start, end int64
		name       string
	}
	spans := make([]span, 0, len(files))
	for _, f := range files {
		if f.CompressedSize64 == 0 {
			continue // shares no bytes with anything
		}
		off, err := f.DataOffset()
		if err != nil {
			return fmt.Errorf("%w: %q: %v", ErrZipInvalid, f.Name, err)
		}
		spans = append(spans, span{off, off + int64(f.CompressedSize64), f.Name})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for k := 1; k < len(spans); k++ {
		if spans[k].start < spans[k-1].end {
			return fmt.Errorf("%w: %q and %q overlap in the zip", ErrZipBomb, spans[k-1].name, spans[k].name)
		}
	}
	return nil
}

// checkEntries is CheckZip over a central directory's entries, in its
// order; Unpack and StreamUnpack both run it before reading any data.
func checkEntries(files []*zip.File, limits Limits) (int64, error) {
	limits = limits.orDefault()
	if len(files) > limits.MaxEntries {
		return 0, fmt.Errorf("%w: %d entries (at most %d)", ErrZipBomb, len(files), limits.MaxEntries)
	}
	names := map[string]bool{}
	dirs := map[string]bool{}
	var total, packed int64
	for i, f := range files {
		if err := CheckEntryName(f.Name); err != nil {
			return 0, err
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			return 0, fmt.Errorf("%w: %q is a link", ErrSymlink, f.Name)
		}
		if f.Mode()&(fs.ModeDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeCharDevice) != 0 {
			return 0, fmt.Errorf("%w: %q is not a regular file", ErrUnsafeName, f.Name)
		}
		if f.Flags&0x1 != 0 {
			return 0, fmt.Errorf("%w: %q is encrypted; give siirto the files, or a zip without a password", ErrZipEncrypted, f.Name)
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return 0, fmt.Errorf("%w: %q uses compression method %d (only stored and deflated entries are read)", ErrZipInvalid, f.Name, f.Method)
		}
		key := FoldName(strings.TrimSuffix(f.Name, "/"))
		if names[key] || dirs[key] && !strings.HasSuffix(f.Name, "/") {
			return 0, fmt.Errorf("%w: %q appears twice (names are compared ignoring case)", ErrDuplicate, f.Name)
		}
		if strings.HasSuffix(f.Name, "/") {
			dirs[key] = true
		} else {
			names[key] = true
		}
		for p := path.Dir(key); p != "."; p = path.Dir(p) {
			if names[p] {
				return 0, fmt.Errorf("%w: %q is both a file and a folder", ErrDuplicate, p)
			}
			dirs[p] = true
		}
		if strings.HasPrefix(f.Name, ".siirto/") && (f.Name != ListingName || i != len(files)-1) {
			return 0, fmt.Errorf("%w: %q: the .siirto folder is reserved for the listing, which must be the last entry", ErrUnsafeName, f.Name)
		}
		size := int64(f.UncompressedSize64)
		if f.UncompressedSize64 > uint64(limits.MaxSize) || total+size > limits.MaxSize {
			return 0, fmt.Errorf("%w: the files expand to more than %d bytes", ErrZipBomb, limits.MaxSize)
		}
		if size > ratioFloor && size/max(int64(f.CompressedSize64), 1) > limits.MaxRatio {
			return 0, fmt.Errorf("%w: %q expands %d times", ErrZipBomb, f.Name, size/max(int64(f.CompressedSize64), 1))
		}
		total += size
		packed += int64(f.CompressedSize64)
	}
	// Many entries each under the per-entry floor can still add up to a
	// bomb: the whole zip is held to the same ratio.
	if total > wholeRatioFloor && total/max(packed, 1) > limits.MaxRatio {
		return 0, fmt.Errorf("%w: the zip expands %d times in all", ErrZipBomb, total/max(packed, 1))
	}
	return total, nil
}

// wholeRatioFloor: below it, a zip's overall expansion is not judged.
const wholeRatioFloor = 64 << 20

// Unpacked is what Unpack found.
type Unpacked struct {
	// Files lists every file as read: path, actual size and SHA-256.
	Files []ListedFile
	// Listing is the inner listing entry, or nil when the zip has none.
	Listing *Listing
}

// Unpack reads every entry of zr, hashing each file, after CheckZip
// passed. With dir == "" it only checks. Otherwise it extracts into a
// private temporary folder beside dir (folders 0700, files 0600), fsyncs
// everything and renames it to dir only when every entry was read in
// full: dir either appears complete or not at all. dir must not exist.
//
// accept, if not nil, is called with what was read before dir is made
// visible; an error from it discards everything.
//
// Declared sizes are never trusted: each entry is cut off one byte past
// its declared size, and archive/zip checks the CRC-32 at its end.
func Unpack(ctx context.Context, zr *zip.Reader, dir string, limits Limits, accept func(*Unpacked) error) (res *Unpacked, err error) {
	total, err := CheckZip(zr, limits)
	if err != nil {
		return nil, err
	}
	tmp, err := beginExtract(dir, total)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	res = &Unpacked{Files: []ListedFile{}}
	buf := make([]byte, 1<<20)
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if f.Name == ListingName {
			if res.Listing, err = readListing(f); err != nil {
				return nil, err
			}
			continue
		}
		if strings.HasSuffix(f.Name, "/") {
			if tmp != "" {
				if err := os.MkdirAll(filepath.Join(tmp, filepath.FromSlash(f.Name)), 0o700); err != nil {
					return nil, err
				}
			}
			continue
		}
		lf, err := unpackFile(ctx, f, tmp, buf)
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, lf)
	}
	if accept != nil {
		if err := accept(res); err != nil {
			return nil, err
		}
	}
	if err := commitExtract(tmp, dir); err != nil {
		return nil, err
	}
	return res, nil
}

// beginExtract makes the private temporary folder beside dir that an
// extraction of total bytes fills, after checking that dir does not exist
// and that the space is there. With dir == "" (only checking) it makes
// nothing and returns "".
func beginExtract(dir string, total int64) (string, error) {
	if dir == "" {
		return "", nil
	}
	if _, err := os.Lstat(dir); err == nil {
		return "", fmt.Errorf("%w: %s", ErrExists, dir)
	}
	parent := filepath.Dir(dir)
	if free, err := FreeSpace(parent); err == nil && free < total+(64<<20) {
		return "", fmt.Errorf("%w: %s needs %d bytes, %d are free", ErrDiskSpace, parent, total, free)
	}
	return os.MkdirTemp(parent, "."+filepath.Base(dir)+".part-")
}

// commitExtract makes the finished temporary folder tmp durable and
// renames it to dir, so dir appears complete or not at all. Every file in
// tmp must already be synced.
func commitExtract(tmp, dir string) error {
	if tmp == "" {
		return nil
	}
	if err := syncTree(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(dir))
}

// createEntryFile creates the file for entry name under root (folders
// 0700, the file 0600); it must not exist yet.
func createEntryFile(root, name string) (*os.File, error) {
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

func unpackFile(ctx context.Context, f *zip.File, root string, buf []byte) (ListedFile, error) {
	rc, err := f.Open()
	if err != nil {
		return ListedFile{}, fmt.Errorf("%w: %q: %v", ErrZipInvalid, f.Name, err)
	}
	defer rc.Close()
	var out io.Writer = io.Discard
	var file *os.File
	if root != "" {
		file, err = createEntryFile(root, f.Name)
		if err != nil {
			return ListedFile{}, err
		}
		defer file.Close()
		out = file
	}
	h := sha256.New()
	declared := int64(f.UncompressedSize64)
	var read int64
	in := &progressReader{r: io.LimitReader(rc, declared+1), n: &read, ctx: ctx}
	n, err := io.CopyBuffer(io.MultiWriter(out, h), in, buf)
	switch {
	case err != nil && ctx.Err() != nil:
		return ListedFile{}, ctx.Err()
	case n > declared || errors.Is(err, zip.ErrFormat):
		// While reading an entry, archive/zip returns ErrFormat only when
		// the data runs past the declared size (CRC and EOF errors differ).
		return ListedFile{}, fmt.Errorf("%w: %q expands past its declared %d bytes", ErrZipBomb, f.Name, declared)
	case err != nil && errors.Is(err, zip.ErrChecksum):
		return ListedFile{}, fmt.Errorf("%w: %q fails its CRC-32 check", ErrZipInvalid, f.Name)
	case err != nil && IsDiskFull(err):
		return ListedFile{}, fmt.Errorf("%w: %v", ErrDiskSpace, err)
	case err != nil && (errors.Is(err, io.ErrUnexpectedEOF) || isFlateError(err)):
		return ListedFile{}, fmt.Errorf("%w: %q: %v", ErrZipInvalid, f.Name, err)
	case err != nil:
		return ListedFile{}, err
	case n < declared:
		return ListedFile{}, fmt.Errorf("%w: %q is shorter than declared", ErrZipInvalid, f.Name)
	}
	if file != nil {
		if err := file.Sync(); err != nil {
			return ListedFile{}, err
		}
		if err := file.Close(); err != nil {
			return ListedFile{}, err
		}
	}
	return ListedFile{Path: f.Name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// maxListing bounds the listing entry: about 200 bytes a file.
const maxListing = 256 << 20

func readListing(f *zip.File) (*Listing, error) {
	if f.UncompressedSize64 > maxListing {
		return nil, fmt.Errorf("%w: it is %d bytes", ErrListingFormat, f.UncompressedSize64)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrListingFormat, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxListing+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrListingFormat, err)
	}
	return ParseListing(data)
}

// ParseListing parses and checks an inner listing.
func ParseListing(data []byte) (*Listing, error) {
	var l Listing
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrListingFormat, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrListingFormat)
	}
	if l.Format != ListingFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrListingFormat, l.Format, ListingFormat)
	}
	for _, f := range l.Files {
		if err := CheckEntryName(f.Path); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrListingFormat, err)
		}
		if f.Size < 0 || len(f.SHA256) != 64 {
			return nil, fmt.Errorf("%w: bad size or checksum for %q", ErrListingFormat, f.Path)
		}
	}
	return &l, nil
}

func syncTree(root string) error {
	// Files were synced as they were written; folders need it too, so the
	// names survive a crash, deepest first so the rename comes last.
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := SyncDir(dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

// isFlateError tells a corrupt deflate stream by its type: a message
// match would also take an I/O error whose path (an entry name the sender
// chose) holds "flate:".
func isFlateError(err error) bool {
	var corrupt flate.CorruptInputError
	var internal flate.InternalError
	return errors.As(err, &corrupt) || errors.As(err, &internal)
}
