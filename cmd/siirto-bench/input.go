package main

import (
	"archive/zip"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// partSize is the largest entry of the generated zip. A few large entries
// look like a register extract and keep the zip's own overhead negligible.
const partSize = 256 << 20

// seed makes the generated input the same on every run and machine.
var seed = [32]byte{'s', 'i', 'i', 'r', 't', 'o', '-', 'b', 'e', 'n', 'c', 'h'}

// input is the generated zip: its path, size and SHA-256, against which
// every contender's plaintext checksum is checked, so that a fast but
// wrong contender cannot win.
type input struct {
	path   string
	size   int64
	sha256 string
}

// check compares a contender's plaintext size and SHA-256 with the input.
func (in input) check(size int64, sum string) error {
	if size != in.size || sum != in.sha256 {
		return fmt.Errorf("plaintext of %d bytes with SHA-256 %s; the input is %d bytes with %s", size, sum, in.size, in.sha256)
	}
	return nil
}

// generateZip writes a valid zip with about size bytes of entries to path:
// stored entries part-000.bin, part-001.bin, … of at most partSize bytes of
// pseudo-random data. Stored, because siirto encrypts a ready zip byte for
// byte and its central directory must pass siirto's checks; random, so that
// no layer below (a compressing file system, a deduplicating disk) gets an
// easy ride. ChaCha8 makes several GB/s, so the disk sets the pace.
func generateZip(path string, size int64) (in input, err error) {
	if size <= 0 {
		return in, fmt.Errorf("the input size must be positive, not %d", size)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return in, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	zw := zip.NewWriter(bw)
	rng := rand.NewChaCha8(seed)
	buf := make([]byte, 1<<20)
	parts := (size + partSize - 1) / partSize
	modified := time.Date(2023, 2, 14, 12, 0, 0, 0, time.UTC)
	for i := range parts {
		n := size / parts
		if i == parts-1 {
			n = size - n*(parts-1)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("part-%03d.bin", i), Method: zip.Store, Modified: modified})
		if err != nil {
			return in, err
		}
		for n > 0 {
			chunk := buf[:min(n, int64(len(buf)))]
			_, _ = rng.Read(chunk) // never fails
			if _, err := w.Write(chunk); err != nil {
				return in, err
			}
			n -= int64(len(chunk))
		}
	}
	if err := zw.Close(); err != nil {
		return in, err
	}
	if err := bw.Flush(); err != nil {
		return in, err
	}
	st, err := f.Stat()
	if err != nil {
		return in, err
	}
	return input{path: path, size: st.Size(), sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

// fillRandom fills buf with the same kind of data as the input zip.
func fillRandom(buf []byte) {
	_, _ = rand.NewChaCha8(seed).Read(buf)
}

// byteSize is a flag.Value for sizes such as 1GiB, 256MiB or 1000000.
type byteSize int64

func (b *byteSize) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func (b byteSize) String() string { return formatSize(int64(b)) }

// units are the suffixes parseSize knows, compared ignoring case; the
// binary ones are what people mean by "1 GiB", the decimal ones are there
// because GB/s in the report is decimal.
var units = []struct {
	suffix string
	factor int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// parseSize reads a positive byte count: a number, optionally with a
// fraction, and an optional unit (KiB, MiB, GiB, TiB, kB, MB, GB, TB, or
// K, M, G, T for the binary ones, or B), as in SIZE=4GiB or SIZE=1.5GB.
func parseSize(s string) (int64, error) {
	num := strings.TrimSpace(s)
	factor := int64(1)
	lower := strings.ToLower(num)
	for _, u := range units {
		if strings.HasSuffix(lower, u.suffix) {
			num, factor = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.factor
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a size (try 1000000, 256MiB or 4GiB)", s)
	}
	n := v * float64(factor)
	if n < 1 || n > 1<<50 {
		return 0, fmt.Errorf("%q is out of range (1 byte to 1 PiB)", s)
	}
	return int64(math.Round(n)), nil
}

// formatSize prints n in the largest binary unit it fills, as 1 GiB or
// 976.6 KiB, to say which input a figure is for.
func formatSize(n int64) string {
	for _, u := range []struct {
		name   string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.factor {
			if n%u.factor == 0 {
				return fmt.Sprintf("%d %s", n/u.factor, u.name)
			}
			return fmt.Sprintf("%.1f %s", float64(n)/float64(u.factor), u.name)
		}
	}
	return fmt.Sprintf("%d B", n)
}
