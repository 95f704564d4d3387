package encrypt

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// ErrNoRandomAccess means a payload cannot be read out of order, so the
// caller must decrypt it from the start instead. It always comes wrapped
// with the reason (an edit list, a central directory too large to hold).
var ErrNoRandomAccess = errors.New("the payload cannot be read out of order")

// RangeReader reads any part of a Crypt4GH payload's plaintext without
// reading what comes before it. Each segment is sealed on its own (its own
// nonce and tag, the header's data key), so the segments covering a range
// are read and opened alone. It lets a zip's central directory, at the
// payload's end, be read before the payload is streamed from its start.
//
// Segments are authenticated one by one, not as a sequence: a reordered
// or truncated payload is only caught by reading it all, as [Reader] does,
// and comparing the manifest's sums.
type RangeReader struct {
	src        io.ReaderAt
	header     *Header
	aead       cipher.AEAD
	cipherSize int64
}

// NewRangeReader parses the header of the cipherSize-byte payload in src
// and opens it with sk. A header with an edit list fails with both
// [ErrUnsupported] and [ErrNoRandomAccess]: its plaintext offsets are not
// the segments' offsets.
func NewRangeReader(src io.ReaderAt, cipherSize int64, sk SecretKey) (*RangeReader, error) {
	h, err := ParseHeader(io.NewSectionReader(src, 0, cipherSize))
	if err != nil {
		return nil, err
	}
	key, err := h.DataKey(sk)
	if errors.Is(err, ErrUnsupported) {
		return nil, fmt.Errorf("%w: %w", ErrNoRandomAccess, err)
	}
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		return nil, err
	}
	return &RangeReader{src: src, header: h, aead: aead, cipherSize: cipherSize}, nil
}

// Header returns the parsed header.
func (r *RangeReader) Header() *Header { return r.header }

// Size returns the plaintext size that the ciphertext size implies. It
// fails with [ErrTruncated], as [Reader] would at the end, when the last
// segment is too short to hold even its nonce and tag.
func (r *RangeReader) Size() (int64, error) {
	body := r.cipherSize - r.header.Size
	full, rest := body/SealedSegmentSize, body%SealedSegmentSize
	if rest != 0 && rest < segmentOverhead {
		return 0, fmt.Errorf("%w: the last segment is only %d bytes long", ErrTruncated, rest)
	}
	return full*SegmentSize + max(rest-segmentOverhead, 0), nil
}

// ReadAt implements io.ReaderAt over the plaintext. A segment that does
// not authenticate fails with [ErrTampered].
func (r *RangeReader) ReadAt(p []byte, off int64) (int, error) {
	size, err := r.Size()
	if err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("encrypt: negative offset %d", off)
	}
	sealed := make([]byte, SealedSegmentSize)
	plain := make([]byte, 0, SegmentSize)
	n := 0
	for n < len(p) && off+int64(n) < size {
		pos := off + int64(n)
		seg := pos / SegmentSize
		start := r.header.Size + seg*SealedSegmentSize
		buf := sealed[:min(SealedSegmentSize, r.cipherSize-start)]
		if k, err := r.src.ReadAt(buf, start); k < len(buf) {
			if err == nil || err == io.EOF {
				err = fmt.Errorf("%w: segment %d ends early", ErrTruncated, seg)
			}
			return n, err
		}
		nonce, ct := buf[:chacha20poly1305.NonceSize], buf[chacha20poly1305.NonceSize:]
		pt, err := r.aead.Open(plain[:0], nonce, ct, nil)
		if err != nil {
			return n, fmt.Errorf("%w: segment %d (file offset %d) does not authenticate", ErrTampered, seg, start)
		}
		n += copy(p[n:], pt[pos-seg*SegmentSize:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
