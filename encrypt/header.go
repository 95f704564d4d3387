package encrypt

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/neicnordic/crypt4gh/model/headers"
	"golang.org/x/crypto/chacha20poly1305"
)

// Limits on headers we accept. A siirto header has one 108-byte packet per
// recipient; generous caps keep a hostile header from costing memory.
const (
	maxPackets      = 64
	maxPacketLength = 64 << 10
	// packetMinLength is length, method, writer key, nonce and AEAD tag.
	packetMinLength = 4 + 4 + KeySize + chacha20poly1305.NonceSize + chacha20poly1305.Overhead
)

// Header is a parsed Crypt4GH header. Parsing needs no key: the writer
// public key and the packet count are readable by anyone, which lets a
// bundle be checked before it is decrypted.
type Header struct {
	// Packets holds each header packet in file order.
	Packets []HeaderPacket
	// Size is the header's length in bytes; the payload's first segment
	// starts there.
	Size int64
}

// HeaderPacket is one encrypted header packet.
type HeaderPacket struct {
	// Writer is the public key of the writer (sender) that sealed the packet.
	Writer PublicKey
	// body is the packet after the length field: method, writer key, nonce
	// and ciphertext, as the crypt4gh library expects it.
	body []byte
}

// ParseHeader reads a Crypt4GH header from r, leaving r at the first data
// segment. It checks the framing only; [Header.DataKey] opens the packets.
func ParseHeader(r io.Reader) (*Header, error) {
	var fixed [16]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: the file ends inside the header", ErrNotCrypt4GH)
		}
		return nil, err
	}
	if string(fixed[:8]) != headers.MagicNumber {
		return nil, fmt.Errorf("%w: the file does not start with the crypt4gh magic bytes", ErrNotCrypt4GH)
	}
	if v := binary.LittleEndian.Uint32(fixed[8:]); v != headers.Version {
		return nil, fmt.Errorf("%w: crypt4gh version %d (only version 1 exists)", ErrHeader, v)
	}
	count := binary.LittleEndian.Uint32(fixed[12:])
	if count == 0 || count > maxPackets {
		return nil, fmt.Errorf("%w: %d header packets (1 to %d allowed)", ErrHeader, count, maxPackets)
	}
	h := &Header{Size: 16, Packets: make([]HeaderPacket, 0, count)}
	for i := uint32(0); i < count; i++ {
		var lb [4]byte
		if _, err := io.ReadFull(r, lb[:]); err != nil {
			return nil, headerEOF(err, i)
		}
		n := binary.LittleEndian.Uint32(lb[:])
		if n < packetMinLength || n > maxPacketLength {
			return nil, fmt.Errorf("%w: header packet %d has length %d", ErrHeader, i, n)
		}
		body := make([]byte, n-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, headerEOF(err, i)
		}
		if m := binary.LittleEndian.Uint32(body); m != uint32(headers.X25519ChaCha20IETFPoly1305) {
			return nil, fmt.Errorf("%w: header packet %d uses encryption method %d", ErrHeader, i, m)
		}
		var p HeaderPacket
		copy(p.Writer[:], body[4:])
		p.body = body
		h.Packets = append(h.Packets, p)
		h.Size += int64(n)
	}
	return h, nil
}

func headerEOF(err error, i uint32) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the file ends inside header packet %d", ErrTruncated, i)
	}
	return err
}

// DataKey opens the header packets addressed to sk and returns the data key
// that seals the segments. It fails with [ErrWrongKey] when no packet is
// addressed to sk.
func (h *Header) DataKey(sk SecretKey) (key [KeySize]byte, err error) {
	found := false
	for i, p := range h.Packets {
		// The library takes the packet without its method field.
		pkt, err := headers.NewEncryptedHeaderPacket(p.body[4:], sk)
		if err != nil {
			var notOurs *headers.HeaderReaderError
			if errors.As(err, &notOurs) {
				continue
			}
			return key, fmt.Errorf("%w: header packet %d: %v", ErrHeader, i, err)
		}
		if pkt == nil || *pkt == nil {
			return key, fmt.Errorf("%w: header packet %d has an unknown type", ErrHeader, i)
		}
		switch v := (*pkt).(type) {
		case headers.DataEncryptionParametersHeaderPacket:
			if v.DataEncryptionMethod != headers.ChaCha20IETFPoly1305 {
				return key, fmt.Errorf("%w: data encryption method %d", ErrHeader, v.DataEncryptionMethod)
			}
			if found && v.DataKey != key {
				return key, fmt.Errorf("%w: several data keys for one reader", ErrUnsupported)
			}
			key, found = v.DataKey, true
		case headers.DataEditListHeaderPacket:
			return key, fmt.Errorf("%w: the file has an edit list", ErrUnsupported)
		}
	}
	if !found {
		return key, ErrWrongKey
	}
	return key, nil
}

// marshalHeader builds a header that gives dataKey to every recipient,
// each packet sealed with the writer key.
func marshalHeader(writer SecretKey, recipients []PublicKey, dataKey [KeySize]byte) ([]byte, error) {
	params := headers.DataEncryptionParametersHeaderPacket{
		EncryptedSegmentSize: SegmentSize + chacha20poly1305.NonceSize + chacha20poly1305.Overhead,
		PacketType:           headers.PacketType{PacketType: headers.DataEncryptionParameters},
		DataEncryptionMethod: headers.ChaCha20IETFPoly1305,
		DataKey:              dataKey,
	}
	h := headers.Header{Version: headers.Version, HeaderPacketCount: uint32(len(recipients))}
	copy(h.MagicNumber[:], headers.MagicNumber)
	for _, r := range recipients {
		h.HeaderPackets = append(h.HeaderPackets, headers.HeaderPacket{
			WriterPrivateKey:       writer,
			ReaderPublicKey:        r,
			HeaderEncryptionMethod: headers.X25519ChaCha20IETFPoly1305,
			EncryptedHeaderPacket:  params,
		})
	}
	return h.MarshalBinary()
}

func newDataKey() (k [KeySize]byte, err error) {
	_, err = rand.Read(k[:])
	return k, err
}
