package encrypt

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// StreamUnpack is [Unpack] for a zip that is read once, front to back,
// from src: the plaintext comes straight from decryption, so it never
// has to be written to disk as a zip. t is the zip's central directory,
// read beforehand from the same zip's end ([ReadZipTail]); the entries
// are found at the offsets it gives, in the order they lie in the zip.
//
// The checks are Unpack's (CheckZip's on the directory, then the sizes,
// CRC-32 and limits while reading), plus what reading front to back needs:
// each local header must be where the directory says, with the same name
// and method; entries must not overlap one another ([ErrZipBomb]: one
// stored byte counted twice is the classic overlapping-entry bomb) or the
// directory ([ErrZipInvalid]); and the directory as streamed must be the
// one t was read from. Bytes between entries (data descriptors, a prefix
// before the first entry as in a self-extracting zip) are skipped.
//
// src is read to its end before accept is called, and dir is made visible
// only after accept returned nil, exactly as Unpack does.
func StreamUnpack(ctx context.Context, t *ZipTail, src io.Reader, dir string, limits Limits, accept func(*Unpacked) error) (res *Unpacked, err error) {
	total, err := checkEntries(t.Files, limits)
	if err != nil {
		return nil, err
	}
	order, err := t.layout()
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
	in := &positionReader{r: src, hashFrom: t.tailStart, tail: sha256.New()}
	defer func() {
		// A failing source (a damaged or cut payload) is the fault, not
		// the zip read from it, wherever the zip walk noticed it.
		if err != nil && in.err != nil && !errors.Is(err, in.err) && ctx.Err() == nil {
			err = in.err
		}
	}()
	z := &zipStream{ctx: ctx, in: in, br: bufio.NewReaderSize(in, 1<<20), buf: make([]byte, 1<<20)}
	read := make([]*ListedFile, len(t.Files))
	res = &Unpacked{Files: []ListedFile{}}
	for _, i := range order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f := t.Files[i]
		if err := z.skipTo(t.offsets[i]); err != nil {
			return nil, fmt.Errorf("%q: %w", f.Name, err)
		}
		switch {
		case f.Name == ListingName:
			if res.Listing, err = z.listing(f); err != nil {
				return nil, err
			}
		case strings.HasSuffix(f.Name, "/"):
			// Unpack never reads a folder's data; it is skipped here.
			if err := z.localHeader(f); err != nil {
				return nil, err
			}
			if tmp != "" {
				if err := os.MkdirAll(filepath.Join(tmp, filepath.FromSlash(f.Name)), 0o700); err != nil {
					return nil, err
				}
			}
		default:
			lf, err := z.file(f, tmp)
			if err != nil {
				return nil, err
			}
			read[i] = &lf
		}
	}
	if err := z.finish(t); err != nil {
		return nil, err
	}
	for _, lf := range read {
		if lf != nil {
			res.Files = append(res.Files, *lf) // in directory order, as Unpack lists them
		}
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

// layout returns the entries' indexes in the order they lie in the zip,
// after checking that each one's local header, name and data fit before
// the next entry and before the central directory. The local header's
// extra field and a data descriptor are not counted here (they are not
// in the directory); skipTo catches them running into the next entry.
func (t *ZipTail) layout() ([]int, error) {
	order := make([]int, len(t.Files))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(min(max(t.offsets[a]-t.offsets[b], -1), 1)) })
	for k, i := range order {
		f := t.Files[i]
		minEnd := uint64(t.offsets[i]) + lenLocalHeader + uint64(len(f.Name))
		if f.CompressedSize64 > uint64(t.dirStart) || minEnd+f.CompressedSize64 > uint64(t.dirStart) {
			return nil, fmt.Errorf("%w: %q lies outside the zip's data", ErrZipInvalid, f.Name)
		}
		if k+1 < len(order) && uint64(t.offsets[order[k+1]]) < minEnd+f.CompressedSize64 {
			return nil, fmt.Errorf("%w: %q and %q overlap in the zip", ErrZipBomb, f.Name, t.Files[order[k+1]].Name)
		}
	}
	return order, nil
}

// zipStream reads a zip front to back.
type zipStream struct {
	ctx context.Context
	in  *positionReader
	br  *bufio.Reader
	buf []byte // the copy buffer
	// inflate is reused for every deflated entry.
	inflate io.ReadCloser
}

// pos is the offset in the zip of the next byte br returns.
func (z *zipStream) pos() int64 { return z.in.n - int64(z.br.Buffered()) }

// skipTo discards the bytes up to off, which must not lie behind.
func (z *zipStream) skipTo(off int64) error {
	cur := z.pos()
	if off < cur {
		return fmt.Errorf("%w: the entry starts %d bytes inside the one before it", ErrZipBomb, cur-off)
	}
	return z.skip(off - cur)
}

func (z *zipStream) skip(n int64) error {
	for n > 0 {
		k, err := z.br.Discard(int(min(n, 1<<30)))
		n -= int64(k)
		if err == io.EOF {
			return fmt.Errorf("%w: the zip ends %d bytes too early", ErrZipInvalid, n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// localHeader reads f's local header at the current position, leaving
// the stream at f's data. archive/zip checks only its signature and takes
// the lengths of its name and extra field; the name and method must also
// agree with the directory here, so that what is extracted is what the
// directory (and so every check) described.
func (z *zipStream) localHeader(f *zip.File) error {
	var h [lenLocalHeader]byte
	if _, err := io.ReadFull(z.br, h[:]); err != nil {
		return fmt.Errorf("%w: %q: its local header is cut short", ErrZipInvalid, f.Name)
	}
	if binary.LittleEndian.Uint32(h[:]) != sigLocalHeader {
		return fmt.Errorf("%w: %q: %v", ErrZipInvalid, f.Name, zip.ErrFormat)
	}
	if binary.LittleEndian.Uint16(h[8:]) != f.Method {
		return fmt.Errorf("%w: %q: the local header gives another compression method than the central directory", ErrZipInvalid, f.Name)
	}
	nameLen, extraLen := int(binary.LittleEndian.Uint16(h[26:])), int64(binary.LittleEndian.Uint16(h[28:]))
	name := make([]byte, nameLen)
	if _, err := io.ReadFull(z.br, name); err != nil {
		return fmt.Errorf("%w: %q: its local header is cut short", ErrZipInvalid, f.Name)
	}
	if string(name) != f.Name {
		return fmt.Errorf("%w: %q: the local header names another file than the central directory", ErrZipInvalid, f.Name)
	}
	return z.skip(extraLen)
}

// file extracts f into root (only checks it if root is "").
func (z *zipStream) file(f *zip.File, root string) (ListedFile, error) {
	if err := z.localHeader(f); err != nil {
		return ListedFile{}, err
	}
	h := sha256.New()
	var out PayloadFile = discardFile{h}
	var file *os.File
	if root != "" {
		var err error
		if file, err = createEntryFile(root, f.Name); err != nil {
			return ListedFile{}, err
		}
		defer file.Close()
		out = newWritebackFile(file, int64(f.UncompressedSize64), h)
	}
	n, err := z.entry(f, out)
	if err != nil {
		out.Abort()
		return ListedFile{}, err
	}
	if err := out.Finish(); err != nil {
		return ListedFile{}, err
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return ListedFile{}, err
		}
	}
	return ListedFile{Path: f.Name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// listing reads the listing entry into memory and parses it. Any fault of
// the entry is a malformed listing, as readListing reports it.
func (z *zipStream) listing(f *zip.File) (*Listing, error) {
	if f.UncompressedSize64 > maxListing {
		return nil, fmt.Errorf("%w: it is %d bytes", ErrListingFormat, f.UncompressedSize64)
	}
	var data bytes.Buffer
	err := z.localHeader(f)
	if err == nil {
		_, err = z.entry(f, &data)
	}
	switch {
	case err != nil && z.ctx.Err() != nil:
		return nil, z.ctx.Err()
	case err != nil && z.in.err != nil:
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrListingFormat, err)
	}
	return ParseListing(data.Bytes())
}

// entry copies f's data, which starts at the current position, through
// its decompressor to out, and checks it as archive/zip and Unpack do:
// cut off one byte past the declared size, no shorter than declared, the
// data descriptor's and the data's CRC-32 equal to the directory's. It
// leaves the stream after f's data and data descriptor.
func (z *zipStream) entry(f *zip.File, out io.Writer) (int64, error) {
	data := &limitedByteReader{br: z.br, n: int64(f.CompressedSize64)}
	var rd io.Reader = data
	switch f.Method {
	case zip.Store:
	case zip.Deflate:
		// One inflater for the whole zip, reset per entry: a new one costs
		// about 40 KiB, which adds up over 200,000 entries.
		if z.inflate == nil {
			z.inflate = flate.NewReader(data)
		} else if err := z.inflate.(flate.Resetter).Reset(data, nil); err != nil {
			return 0, err
		}
		rd = z.inflate
	default: // checkEntries refused it already
		return 0, fmt.Errorf("%w: %q: %v", ErrZipInvalid, f.Name, zip.ErrAlgorithm)
	}
	crc := crc32.NewIEEE()
	declared := int64(f.UncompressedSize64)
	var read int64
	in := &progressReader{r: io.LimitReader(rd, declared+1), n: &read, ctx: z.ctx}
	n, err := io.CopyBuffer(io.MultiWriter(out, crc), in, z.buf)
	switch {
	case err != nil && z.ctx.Err() != nil:
		return 0, z.ctx.Err()
	case err != nil && z.in.err != nil:
		return 0, fmt.Errorf("%q: %w", f.Name, z.in.err)
	case n > declared:
		return 0, fmt.Errorf("%w: %q expands past its declared %d bytes", ErrZipBomb, f.Name, declared)
	case err != nil && IsDiskFull(err):
		return 0, fmt.Errorf("%w: %v", ErrDiskSpace, err)
	case err != nil && (errors.Is(err, io.ErrUnexpectedEOF) || isFlateError(err)):
		return 0, fmt.Errorf("%w: %q: %v", ErrZipInvalid, f.Name, err)
	case err != nil:
		return 0, err
	case n < declared:
		return 0, fmt.Errorf("%w: %q is shorter than declared", ErrZipInvalid, f.Name)
	}
	// Deflate may end before the declared compressed size; archive/zip
	// ignores the rest, and so does this.
	if err := z.skip(data.n); err != nil {
		return 0, err
	}
	if f.Flags&0x8 != 0 {
		if err := z.descriptor(f); err != nil {
			return 0, err
		}
	} else if f.CRC32 == 0 {
		return n, nil // as archive/zip: a zero CRC-32 means none was recorded
	}
	if crc.Sum32() != f.CRC32 {
		return 0, fmt.Errorf("%w: %q fails its CRC-32 check", ErrZipInvalid, f.Name)
	}
	return n, nil
}

// descriptor reads the data descriptor after f's data, with or without
// its optional signature, and compares its CRC-32 with the directory's,
// as archive/zip's readDataDescriptor does. Its sizes are not read.
func (z *zipStream) descriptor(f *zip.File) error {
	var b [12]byte
	if _, err := io.ReadFull(z.br, b[:4]); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrZipInvalid, f.Name, io.ErrUnexpectedEOF)
	}
	if binary.LittleEndian.Uint32(b[:]) == sigDescriptor {
		if _, err := io.ReadFull(z.br, b[:4]); err != nil {
			return fmt.Errorf("%w: %q: %v", ErrZipInvalid, f.Name, io.ErrUnexpectedEOF)
		}
	}
	if _, err := io.ReadFull(z.br, b[4:12]); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrZipInvalid, f.Name, io.ErrUnexpectedEOF)
	}
	if binary.LittleEndian.Uint32(b[:]) != f.CRC32 {
		return fmt.Errorf("%w: %q fails its CRC-32 check", ErrZipInvalid, f.Name)
	}
	return nil
}

// finish reads the rest of the zip, the central directory and its end,
// and proves them the bytes ReadZipTail read: the same directory
// described what was just extracted.
func (z *zipStream) finish(t *ZipTail) error {
	if z.pos() > t.dirStart {
		return fmt.Errorf("%w: the last entry runs into the central directory", ErrZipInvalid)
	}
	if _, err := io.CopyBuffer(io.Discard, z.br, z.buf); err != nil {
		return err
	}
	if z.in.n != t.size {
		return fmt.Errorf("%w: the zip is %d bytes, and %d when its directory was read", ErrZipInvalid, z.in.n, t.size)
	}
	if !bytes.Equal(z.in.tail.Sum(nil), t.tailSum[:]) {
		return fmt.Errorf("%w: the zip's central directory changed while it was read", ErrZipInvalid)
	}
	return nil
}

// positionReader counts the bytes read from r, hashes those from offset
// hashFrom on, and keeps r's error other than io.EOF.
type positionReader struct {
	r        io.Reader
	n        int64
	hashFrom int64
	tail     hash.Hash
	err      error
}

func (p *positionReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if end := p.n + int64(n); end > p.hashFrom {
		p.tail.Write(b[max(p.hashFrom-p.n, 0):n])
	}
	p.n += int64(n)
	if err != nil && err != io.EOF {
		p.err = err
	}
	return n, err
}

// limitedByteReader is io.LimitReader with ReadByte, so that flate reads
// no further than the entry's compressed size.
type limitedByteReader struct {
	br *bufio.Reader
	n  int64
}

func (l *limitedByteReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.br.Read(p)
	l.n -= int64(n)
	return n, err
}

func (l *limitedByteReader) ReadByte() (byte, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	b, err := l.br.ReadByte()
	if err == nil {
		l.n--
	}
	return b, err
}

// discardFile is the output of an entry that is only checked: it is
// hashed, not written.
type discardFile struct{ sum hash.Hash }

func (d discardFile) Write(p []byte) (int, error) { return d.sum.Write(p) }
func (discardFile) Finish() error                 { return nil }
func (discardFile) Abort()                        {}
