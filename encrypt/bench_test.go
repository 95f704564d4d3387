package encrypt

import (
	"bytes"
	"io"
	"testing"
)

// The Go benchmarks measure the engine alone, in memory. `make bench`
// (cmd/siirto-bench) measures whole commands against baselines.

func BenchmarkSeal(b *testing.B) {
	pk, _ := mustKey(b)
	plain := randomBytes(b, 64<<20, 1)
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		w, err := NewWriter(io.Discard, nil, []PublicKey{pk}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.ReadFrom(bytes.NewReader(plain)); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	pk, sk := mustKey(b)
	plain := randomBytes(b, 64<<20, 1)
	var ct bytes.Buffer
	w, _ := NewWriter(&ct, nil, []PublicKey{pk}, nil)
	w.Write(plain)
	w.Close()
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(ct.Bytes()), sk, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
