package encrypt

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/neicnordic/crypt4gh/model/headers"
)

// TestRangeReaderMatchesStream reads ranges around segment boundaries,
// in the first and last segment and across a short last one, and wants
// exactly the slice of the whole plaintext.
func TestRangeReaderMatchesStream(t *testing.T) {
	pk, sk := mustKey(t)
	for _, size := range edgeSizes {
		plain := randomBytes(t, size, uint64(size))
		ct, _ := seal(t, plain, nil, []PublicKey{pk}, 2)
		rr, err := NewRangeReader(bytes.NewReader(ct), int64(len(ct)), sk)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := rr.Size(); err != nil || got != int64(size) {
			t.Fatalf("size %d: Size() = %d, %v", size, got, err)
		}
		var offs []int64
		for _, o := range []int64{0, 1, SegmentSize - 1, SegmentSize, SegmentSize + 1, int64(size) / 2, int64(size) - SegmentSize - 1, int64(size) - 1, int64(size)} {
			if o >= 0 && o <= int64(size) {
				offs = append(offs, o)
			}
		}
		for _, off := range offs {
			for _, n := range []int64{0, 1, 22, SegmentSize - 1, SegmentSize, SegmentSize + 1, 3 * SegmentSize} {
				buf := make([]byte, n)
				got, err := rr.ReadAt(buf, off)
				want := plain[off:min(off+n, int64(size))]
				if !bytes.Equal(buf[:got], want) {
					t.Fatalf("size %d, ReadAt(%d, %d): wrong bytes", size, n, off)
				}
				if short := int64(len(want)) < n; short != (err == io.EOF) || (!short && err != nil) {
					t.Fatalf("size %d, ReadAt(%d, %d): %d bytes, %v", size, n, off, got, err)
				}
			}
		}
	}
}

func TestRangeReaderTampered(t *testing.T) {
	pk, sk := mustKey(t)
	plain := randomBytes(t, 3*SegmentSize+17, 1)
	ct, _ := seal(t, plain, nil, []PublicKey{pk}, 1)
	ct[len(ct)-5] ^= 1 // in the short last segment
	rr, err := NewRangeReader(bytes.NewReader(ct), int64(len(ct)), sk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rr.ReadAt(make([]byte, 10), 0); err != nil {
		t.Fatalf("the first segment is intact: %v", err)
	}
	if _, err := rr.ReadAt(make([]byte, 10), int64(len(plain))-10); !errors.Is(err, ErrTampered) {
		t.Fatalf("tampered last segment: %v, want ErrTampered", err)
	}
	// A last segment shorter than its nonce and tag is cut short.
	cut := ct[:len(ct)-17-segmentOverhead+5]
	rr, err = NewRangeReader(bytes.NewReader(cut), int64(len(cut)), sk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rr.Size(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Size of a cut payload: %v, want ErrTruncated", err)
	}
}

func TestRangeReaderEditList(t *testing.T) {
	pk, sk := mustKey(t)
	_, writer := mustKey(t)
	key, err := newDataKey()
	if err != nil {
		t.Fatal(err)
	}
	h := headers.Header{Version: headers.Version, HeaderPacketCount: 2}
	copy(h.MagicNumber[:], headers.MagicNumber)
	for _, p := range []headers.EncryptedHeaderPacket{
		headers.DataEncryptionParametersHeaderPacket{
			EncryptedSegmentSize: SealedSegmentSize,
			PacketType:           headers.PacketType{PacketType: headers.DataEncryptionParameters},
			DataEncryptionMethod: headers.ChaCha20IETFPoly1305,
			DataKey:              key,
		},
		headers.DataEditListHeaderPacket{PacketType: headers.PacketType{PacketType: headers.DataEditList}, NumberLengths: 2, Lengths: []uint64{1, 2}},
	} {
		h.HeaderPackets = append(h.HeaderPackets, headers.HeaderPacket{
			WriterPrivateKey: writer, ReaderPublicKey: pk,
			HeaderEncryptionMethod: headers.X25519ChaCha20IETFPoly1305, EncryptedHeaderPacket: p,
		})
	}
	hdr, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewRangeReader(bytes.NewReader(hdr), int64(len(hdr)), sk)
	if !errors.Is(err, ErrNoRandomAccess) || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("edit list: %v, want ErrNoRandomAccess and ErrUnsupported", err)
	}
}
