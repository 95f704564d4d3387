package encrypt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"testing"

	"github.com/neicnordic/crypt4gh/streaming"
)

// edgeSizes are the plaintext sizes every engine test covers.
var edgeSizes = []int{0, 1, 100, SegmentSize - 1, SegmentSize, SegmentSize + 1,
	3*SegmentSize + 17, batchSegments * SegmentSize, batchSegments*SegmentSize + 1,
	2*batchSegments*SegmentSize + 5*SegmentSize + 3}

func randomBytes(t testing.TB, n int, seed uint64) []byte {
	t.Helper()
	b := make([]byte, n)
	rng := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = rng.Read(b)
	return b
}

func mustKey(t testing.TB) (PublicKey, SecretKey) {
	t.Helper()
	pk, sk, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return pk, sk
}

func seal(t testing.TB, plain []byte, sender *SecretKey, to []PublicKey, workers int) ([]byte, *Writer) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, sender, to, &Options{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	// Uneven writes exercise batch boundaries.
	for rest := plain; len(rest) > 0; {
		n := min(len(rest), 1+len(rest)%70001)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w
}

func TestOurWriterLibraryReader(t *testing.T) {
	pk, sk := mustKey(t)
	for _, size := range edgeSizes {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%d/w%d", size, workers), func(t *testing.T) {
				plain := randomBytes(t, size, uint64(size))
				ct, w := seal(t, plain, nil, []PublicKey{pk}, workers)
				lr, err := streaming.NewCrypt4GHReader(bytes.NewReader(ct), sk, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(lr)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatalf("library decrypted %d bytes, want %d identical bytes", len(got), len(plain))
				}
				if w.Plaintext().SHA256 != sha256.Sum256(plain) || w.Plaintext().Size != int64(size) {
					t.Error("plaintext sums wrong")
				}
				if w.Ciphertext().SHA256 != sha256.Sum256(ct) || w.Ciphertext().Size != int64(len(ct)) {
					t.Error("ciphertext sums wrong")
				}
			})
		}
	}
}

func TestLibraryWriterOurReader(t *testing.T) {
	pk, sk := mustKey(t)
	for _, size := range edgeSizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			plain := randomBytes(t, size, uint64(size)+1)
			var buf bytes.Buffer
			lw, err := streaming.NewCrypt4GHWriterWithoutPrivateKey(&buf, [][32]byte{pk}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lw.Write(plain); err != nil {
				t.Fatal(err)
			}
			if err := lw.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := NewReader(bytes.NewReader(buf.Bytes()), sk, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("got %d bytes, want %d identical bytes", len(got), len(plain))
			}
			if r.Plaintext().SHA256 != sha256.Sum256(plain) {
				t.Error("plaintext hash wrong")
			}
			if r.Ciphertext().SHA256 != sha256.Sum256(buf.Bytes()) || r.Ciphertext().Size != int64(buf.Len()) {
				t.Error("ciphertext sums wrong")
			}
		})
	}
}

func TestRoundTripWriteTo(t *testing.T) {
	pk, sk := mustKey(t)
	for _, size := range edgeSizes {
		plain := randomBytes(t, size, 7)
		ct, _ := seal(t, plain, nil, []PublicKey{pk}, 2)
		r, err := NewReader(bytes.NewReader(ct), sk, &Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := r.WriteTo(&out); err != nil {
			t.Fatalf("%d: %v", size, err)
		}
		if !bytes.Equal(out.Bytes(), plain) {
			t.Fatalf("%d: round trip differs", size)
		}
	}
}

func TestReadFrom(t *testing.T) {
	pk, sk := mustKey(t)
	plain := randomBytes(t, 5*SegmentSize+9, 3)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, nil, []PublicKey{pk}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// iotest-style one-byte-at-a-time reader stresses ReadFrom's loop.
	if _, err := io.Copy(w, io.MultiReader(bytes.NewReader(plain[:3]), bytes.NewReader(plain[3:]))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := mustOpen(t, buf.Bytes(), sk)
	if !bytes.Equal(got, plain) {
		t.Fatal("ReadFrom round trip differs")
	}
}

func mustOpen(t *testing.T, ct []byte, sk SecretKey) []byte {
	t.Helper()
	r, err := NewReader(bytes.NewReader(ct), sk, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMultiRecipientAndSender(t *testing.T) {
	pk1, sk1 := mustKey(t)
	pk2, sk2 := mustKey(t)
	spk, ssk := mustKey(t)
	_, other := mustKey(t)
	plain := randomBytes(t, 2*SegmentSize+5, 9)
	ct, _ := seal(t, plain, &ssk, []PublicKey{pk1, pk2}, 2)

	h, err := ParseHeader(bytes.NewReader(ct))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Packets) != 2 {
		t.Fatalf("%d packets, want 2", len(h.Packets))
	}
	for _, p := range h.Packets {
		if p.Writer != spk {
			t.Error("header packet does not carry the sender's public key")
		}
	}
	for _, sk := range []SecretKey{sk1, sk2} {
		if !bytes.Equal(mustOpen(t, ct, sk), plain) {
			t.Fatal("a recipient could not decrypt")
		}
		lr, err := streaming.NewCrypt4GHReader(bytes.NewReader(ct), sk, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(lr); !bytes.Equal(got, plain) {
			t.Fatal("library: a recipient could not decrypt")
		}
	}
	if _, err := NewReader(bytes.NewReader(ct), other, nil); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: got %v, want ErrWrongKey", err)
	}
}

func TestTamperAndTruncation(t *testing.T) {
	pk, sk := mustKey(t)
	plain := randomBytes(t, 40*SegmentSize+1000, 11)
	ct, _ := seal(t, plain, nil, []PublicKey{pk}, 2)
	h, _ := ParseHeader(bytes.NewReader(ct))
	hs := int(h.Size)

	readAll := func(b []byte) ([]byte, error) {
		r, err := NewReader(bytes.NewReader(b), sk, nil)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(r)
	}
	cases := []struct {
		name string
		mod  func([]byte) []byte
		want error
	}{
		{"flip in first segment", func(b []byte) []byte { b[hs+100] ^= 1; return b }, ErrTampered},
		{"flip in segment 30", func(b []byte) []byte { b[hs+30*SealedSegmentSize+5000] ^= 0x80; return b }, ErrTampered},
		{"flip in last tag", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, ErrTampered},
		{"flip in nonce", func(b []byte) []byte { b[hs+2] ^= 1; return b }, ErrTampered},
		{"cut inside last segment", func(b []byte) []byte { return b[:len(b)-10] }, ErrTampered},
		{"cut leaving a stub", func(b []byte) []byte { return b[:hs+40*SealedSegmentSize+20] }, ErrTruncated},
		{"cut inside header", func(b []byte) []byte { return b[:hs-10] }, ErrTruncated},
		{"swap two segments", func(b []byte) []byte {
			// Crypt4GH cannot see reordering: the manifest's plaintext
			// hash is what catches it (tested in verify). Here both
			// segments still authenticate.
			s1 := b[hs : hs+SealedSegmentSize]
			s2 := append([]byte(nil), b[hs+SealedSegmentSize:hs+2*SealedSegmentSize]...)
			copy(b[hs+SealedSegmentSize:], s1)
			copy(b[hs:], s2)
			return b
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := readAll(c.mod(append([]byte(nil), ct...)))
			if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if c.want == nil && sha256.Sum256(got) == sha256.Sum256(plain) {
				t.Fatal("reordered segments gave the same plaintext hash")
			}
		})
	}
}

func TestNotCrypt4GH(t *testing.T) {
	_, sk := mustKey(t)
	for _, in := range [][]byte{nil, []byte("crypt4g"), []byte("PK\x03\x04 this is a zip file.....")} {
		if _, err := NewReader(bytes.NewReader(in), sk, nil); !errors.Is(err, ErrNotCrypt4GH) {
			t.Errorf("%q: got %v, want ErrNotCrypt4GH", in, err)
		}
	}
}

// errWriter fails after n bytes, to check that a failing destination
// stops the pipeline and reports the error.
type errWriter struct{ n int }

func (e *errWriter) Write(p []byte) (int, error) {
	if e.n < len(p) {
		return 0, errors.New("disk full")
	}
	e.n -= len(p)
	return len(p), nil
}

func TestWriterDestinationError(t *testing.T) {
	pk, _ := mustKey(t)
	w, err := NewWriter(&errWriter{n: 3 << 20}, nil, []PublicKey{pk}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := randomBytes(t, 64<<20, 1)
	_, werr := w.Write(plain)
	cerr := w.Close()
	if werr == nil && cerr == nil {
		t.Fatal("a failing destination went unnoticed")
	}
	if cerr == nil || cerr.Error() != "disk full" {
		t.Fatalf("Close: got %v, want disk full", cerr)
	}
}

func TestReaderCloseEarly(t *testing.T) {
	pk, sk := mustKey(t)
	ct, _ := seal(t, randomBytes(t, 100*SegmentSize, 2), nil, []PublicKey{pk}, 2)
	r, err := NewReader(bytes.NewReader(ct), sk, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r.wg.Wait() // would hang if the goroutines did not stop
}
