package encrypt

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxZipTail bounds the bytes ReadZipTail holds in memory: the central
// directory and what follows it. 32 MiB is about 300,000 entries with
// 60-byte names; a larger directory is read the slow way.
const MaxZipTail = 32 << 20

// eocdWindow is how far from the end archive/zip looks for the end of
// central directory record (its 22 bytes and a comment of up to 64 KiB).
const eocdWindow = 65 * 1024

// Zip record signatures and fixed lengths (APPNOTE.TXT 4.3).
const (
	sigLocalHeader = 0x04034b50
	sigCentralDir  = 0x02014b50
	sigEnd         = 0x06054b50
	sigEnd64       = 0x06064b50
	sigEnd64Loc    = 0x07064b50
	sigDescriptor  = 0x08074b50
	lenLocalHeader = 30
	lenCentralDir  = 46
	lenEnd         = 22
	lenEnd64       = 56
	lenEnd64Loc    = 20
)

// ZipTail is a zip's central directory, read from the end of the zip
// alone, for [StreamUnpack] to read the entries front to back.
type ZipTail struct {
	// Files are the entries as archive/zip reads them, in directory order.
	Files []*zip.File
	// offsets[i] is where Files[i]'s local header starts.
	offsets []int64
	// size is the zip's size; dirStart where its central directory starts.
	size, dirStart int64
	// tailStart is the first byte read; tailSum the SHA-256 of the bytes
	// from there to the end, so that the streaming pass can prove it saw
	// the same directory.
	tailStart int64
	tailSum   [sha256.Size]byte
}

// ReadZipTail reads the central directory of the size-byte zip in r,
// reading only the zip's last bytes (the directory and at least the last
// 65 KiB). The entries come from archive/zip, so they are what
// zip.NewReader over the whole zip gives.
//
// It fails with [ErrNoRandomAccess] when the directory and what follows
// it exceed [MaxZipTail], or when archive/zip would read beyond them: a
// zip whose offsets are not from the file's start (data prepended
// without adjusting them), or one archive/zip reads in a way not
// foreseen here. The caller then reads the whole zip instead. A zip
// archive/zip refuses fails with [ErrZipInvalid].
func ReadZipTail(r io.ReaderAt, size int64) (*ZipTail, error) {
	dirStart, err := findDirectory(r, size)
	if err != nil {
		return nil, err
	}
	if size-dirStart > MaxZipTail {
		return nil, fmt.Errorf("%w: the zip's central directory is %d bytes (at most %d are read this way)", ErrNoRandomAccess, size-dirStart, MaxZipTail)
	}
	t := &ZipTail{size: size, dirStart: dirStart, tailStart: min(dirStart, size-min(size, eocdWindow))}
	tail := make([]byte, size-t.tailStart)
	if _, err := io.ReadFull(io.NewSectionReader(r, t.tailStart, int64(len(tail))), tail); err != nil {
		return nil, err
	}
	t.tailSum = sha256.Sum256(tail)
	at := &tailReaderAt{data: tail, start: t.tailStart}
	zr, err := zip.NewReader(at, size)
	switch {
	case err != nil && at.outside:
		return nil, fmt.Errorf("%w: the zip must be read from its start (%v)", ErrNoRandomAccess, err)
	case err != nil && !errors.Is(err, zip.ErrInsecurePath):
		// With GODEBUG=zipinsecurepath=0 archive/zip flags unsafe names but
		// still returns a usable reader; the name checks then report them.
		return nil, fmt.Errorf("%w: the decrypted payload is not a zip: %v", ErrZipInvalid, err)
	}
	t.Files = zr.File
	if t.offsets, err = headerOffsets(tail[dirStart-t.tailStart:], zr.File); err != nil {
		return nil, err
	}
	return t, nil
}

// findDirectory locates the central directory as archive/zip does
// (readDirectoryEnd): the last end record in the last 65 KiB, and the
// zip64 end record its locator points to. Offsets must count from the
// file's start; archive/zip would otherwise shift them all (its
// "baseOffset"), which is left to it: ErrNoRandomAccess.
func findDirectory(r io.ReaderAt, size int64) (int64, error) {
	win := make([]byte, min(size, eocdWindow))
	if _, err := io.ReadFull(io.NewSectionReader(r, size-int64(len(win)), int64(len(win))), win); err != nil {
		return 0, err
	}
	p := -1
	for i := len(win) - lenEnd; i >= 0; i-- {
		if binary.LittleEndian.Uint32(win[i:]) == sigEnd {
			if int(binary.LittleEndian.Uint16(win[i+20:]))+lenEnd+i <= len(win) {
				p = i
			}
			break // archive/zip gives up on a truncated comment too
		}
	}
	if p < 0 {
		return 0, fmt.Errorf("%w: the decrypted payload is not a zip: no end of central directory", ErrZipInvalid)
	}
	end := size - int64(len(win)) + int64(p)
	e := win[p:]
	records := uint64(binary.LittleEndian.Uint16(e[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(e[12:]))
	dirOff := uint64(binary.LittleEndian.Uint32(e[16:]))
	if records == 0xffff || dirSize == 0xffff || dirOff == 0xffffffff {
		if rec, ok, err := findEnd64(r, end); err != nil {
			return 0, err
		} else if ok {
			end = rec
			var b [lenEnd64]byte
			if _, err := r.ReadAt(b[:], rec); err != nil {
				return 0, fmt.Errorf("%w: the zip64 end record: %v", ErrZipInvalid, err)
			}
			if binary.LittleEndian.Uint32(b[:]) != sigEnd64 {
				return 0, fmt.Errorf("%w: the decrypted payload is not a zip: a bad zip64 end record", ErrZipInvalid)
			}
			dirSize, dirOff = binary.LittleEndian.Uint64(b[40:]), binary.LittleEndian.Uint64(b[48:])
		}
	}
	if dirSize > 1<<62 || dirOff > 1<<62 || end-int64(dirSize)-int64(dirOff) != 0 {
		return 0, fmt.Errorf("%w: the central directory is not where the end record says", ErrNoRandomAccess)
	}
	return int64(dirOff), nil
}

// findEnd64 returns the offset of the zip64 end record, if the locator
// before the end record at end names one (archive/zip's findDirectory64End).
func findEnd64(r io.ReaderAt, end int64) (int64, bool, error) {
	if end < lenEnd64Loc {
		return 0, false, nil
	}
	var b [lenEnd64Loc]byte
	if _, err := r.ReadAt(b[:], end-lenEnd64Loc); err != nil {
		return 0, false, err
	}
	if binary.LittleEndian.Uint32(b[:]) != sigEnd64Loc || binary.LittleEndian.Uint32(b[4:]) != 0 || binary.LittleEndian.Uint32(b[16:]) != 1 {
		return 0, false, nil
	}
	off := binary.LittleEndian.Uint64(b[8:])
	if off > 1<<62 {
		return 0, false, fmt.Errorf("%w: the zip64 locator points outside the file", ErrZipInvalid)
	}
	return int64(off), true, nil
}

// headerOffsets walks the directory records archive/zip has read (dir
// starts at the first) for the one field it keeps private: where each
// entry's local header is. Each record is checked against files[i].
func headerOffsets(dir []byte, files []*zip.File) ([]int64, error) {
	offsets := make([]int64, len(files))
	for i, f := range files {
		if len(dir) < lenCentralDir || binary.LittleEndian.Uint32(dir) != sigCentralDir {
			return nil, fmt.Errorf("%w: central directory record %d", ErrZipInvalid, i)
		}
		nameLen := int(binary.LittleEndian.Uint16(dir[28:]))
		extraLen := int(binary.LittleEndian.Uint16(dir[30:]))
		commentLen := int(binary.LittleEndian.Uint16(dir[32:]))
		end := lenCentralDir + nameLen + extraLen + commentLen
		if len(dir) < end || string(dir[lenCentralDir:lenCentralDir+nameLen]) != f.Name {
			return nil, fmt.Errorf("%w: central directory record %d", ErrZipInvalid, i)
		}
		off := uint64(binary.LittleEndian.Uint32(dir[42:]))
		// As archive/zip: the zip64 extra field holds, in this order, the
		// sizes and the offset that are 0xffffffff in the record.
		needU := binary.LittleEndian.Uint32(dir[24:]) == 0xffffffff
		needC := binary.LittleEndian.Uint32(dir[20:]) == 0xffffffff
		needOff := off == 0xffffffff
		for extra := dir[lenCentralDir+nameLen : lenCentralDir+nameLen+extraLen]; len(extra) >= 4; {
			tag, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
			extra = extra[4:]
			if len(extra) < n {
				break
			}
			field := extra[:n]
			extra = extra[n:]
			if tag != 0x0001 {
				continue
			}
			for _, need := range []*bool{&needU, &needC} {
				if *need && len(field) >= 8 {
					*need, field = false, field[8:]
				}
			}
			if needOff && len(field) >= 8 {
				needOff, off = false, binary.LittleEndian.Uint64(field)
			}
		}
		if off > 1<<62 {
			return nil, fmt.Errorf("%w: %q has its local header at offset %d", ErrZipInvalid, f.Name, off)
		}
		offsets[i] = int64(off)
		dir = dir[end:]
	}
	return offsets, nil
}

// tailReaderAt serves the bytes ReadZipTail read and nothing else; a read
// outside them fails and is remembered.
type tailReaderAt struct {
	data    []byte
	start   int64
	outside bool
}

func (t *tailReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < t.start || off-t.start > int64(len(t.data)) {
		t.outside = true
		return 0, fmt.Errorf("%w: offset %d is before the zip's tail", ErrNoRandomAccess, off)
	}
	n := copy(p, t.data[off-t.start:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
