package main

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/neicnordic/crypt4gh/streaming"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// Fixed facts of the generated bundle.
const (
	bundleName = "bench"
	journal    = "THL/1234/14.02.00/2023"
)

// maxCeilingBuffer bounds the ceiling's in-memory plaintext: it loops over
// the buffer rather than holding -size bytes, so a 4 GiB run stays small.
const maxCeilingBuffer = 256 << 20

// setup is what every run shares: the input, a key pair and the folders.
type setup struct {
	dir     string
	input   input
	pk      encrypt.PublicKey
	sk      encrypt.SecretKey
	engine  *encrypt.Options
	outDir  string // siirto encrypt's bundle, which the decrypt contenders read
	ceiling []byte // plaintext for the ceiling
}

// contender is one measurement. warm names the file to read into the page
// cache just before it, or is empty when the contender reads no file.
type contender struct {
	name    string
	warm    string
	measure func() (time.Duration, error)
}

func newSetup(dir string, size int64, workers int) (*setup, error) {
	in, err := generateZip(filepath.Join(dir, bundleName+".zip"), size)
	if err != nil {
		return nil, err
	}
	pk, sk, err := encrypt.GenerateKey()
	if err != nil {
		return nil, err
	}
	s := &setup{
		dir:    dir,
		input:  in,
		pk:     pk,
		sk:     sk,
		engine: &encrypt.Options{Workers: workers},
		outDir: filepath.Join(dir, "out"),
	}
	if err := os.Mkdir(s.outDir, 0o700); err != nil {
		return nil, err
	}
	s.ceiling = make([]byte, min(size, maxCeilingBuffer))
	fillRandom(s.ceiling)
	return s, nil
}

// contenders lists the measurements in the order they run. siirto
// encrypt comes first: the decrypt contenders read the bundle it wrote.
func (s *setup) contenders() []contender {
	payload := filepath.Join(s.outDir, encrypt.PayloadName(bundleName))
	return []contender{
		{nameEncrypt, s.input.path, s.siirtoEncrypt},
		{nameWriter, s.input.path, s.libraryWriter},
		{nameCeiling, "", s.sealCeiling},
		{nameEngine, s.input.path, s.engineOnly},
		{nameDisk, s.input.path, s.diskCopy},
		{nameDecrypt, payload, s.siirtoDecrypt},
		{nameReader, payload, s.libraryReader},
	}
}

// Contender names, as printed.
const (
	nameEncrypt = "siirto encrypt"
	nameWriter  = "crypt4gh writer (baseline)"
	nameCeiling = "ceiling: seal + 2×SHA-256, no I/O"
	nameEngine  = "info: siirto engine, no output"
	nameDisk    = "info: disk copy + fsync, no crypto"
	nameDecrypt = "siirto decrypt"
	nameReader  = "crypt4gh reader"
)

// removeBundle deletes the bundle of an earlier run, so that siirto
// encrypt does not rename over (and delete) a gigabyte inside its timing.
func (s *setup) removeBundle() error {
	for _, name := range []string{encrypt.PayloadName(bundleName), encrypt.ManifestName(bundleName)} {
		if err := os.Remove(filepath.Join(s.outDir, name)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// openFiles opens the input and creates the output name in the bench
// folder; done closes both and removes the output.
func (s *setup) openFiles(name string) (in, out *os.File, done func(), err error) {
	if in, err = os.Open(s.input.path); err != nil {
		return nil, nil, nil, err
	}
	if out, err = os.Create(filepath.Join(s.dir, name)); err != nil {
		in.Close()
		return nil, nil, nil, err
	}
	return in, out, func() {
		in.Close()
		out.Close()
		os.Remove(out.Name())
	}, nil
}

// siirtoEncrypt runs what `siirto encrypt --force ready.zip` runs.
func (s *setup) siirtoEncrypt() (time.Duration, error) {
	start := time.Now()
	m, err := encrypt.WriteBundle(context.Background(), encrypt.BundleOptions{
		Name:          bundleName,
		JournalNumber: journal,
		Zip:           s.input.path,
		Recipients:    []encrypt.PublicKey{s.pk},
		OutDir:        s.outDir,
		Force:         true,
		Engine:        s.engine,
		Tool:          encrypt.Tool{Name: "siirto-bench", Version: "bench"},
	})
	elapsed := time.Since(start)
	if err != nil {
		return 0, err
	}
	return elapsed, s.input.check(m.Plaintext.Size, m.Plaintext.SHA256)
}

// libraryWriter is the baseline: the crypt4gh library's writer from the
// same file, hashing the plaintext as it is read and the ciphertext as it
// is written. Its output is synced like siirto's, which also keeps its
// writeback from landing on the next contender's time.
func (s *setup) libraryWriter() (time.Duration, error) {
	start := time.Now()
	in, f, done, err := s.openFiles("baseline.c4gh")
	if err != nil {
		return 0, err
	}
	defer done()
	plainHash, cipherHash := sha256.New(), sha256.New()
	w, err := streaming.NewCrypt4GHWriterWithoutPrivateKey(io.MultiWriter(f, cipherHash), [][chacha20poly1305.KeySize]byte{s.pk}, nil)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, io.TeeReader(in, plainHash))
	if err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	// Both sums are finished inside the timing, as siirto's are; there is
	// nothing to compare the ciphertext's with.
	plainSum := hex.EncodeToString(plainHash.Sum(nil))
	cipherHash.Sum(nil)
	elapsed := time.Since(start)
	return elapsed, s.input.check(n, plainSum)
}

// engineOnly runs siirto's segment engine from the input file into
// io.Discard: siirto encrypt without its output file. Beside the ceiling it
// shows what the pipeline itself costs; beside siirto encrypt, what the
// output file and its fsync cost. It is for reading the ratios, and has
// no target of its own.
func (s *setup) engineOnly() (time.Duration, error) {
	start := time.Now()
	in, err := os.Open(s.input.path)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	w, err := encrypt.NewWriter(io.Discard, nil, []encrypt.PublicKey{s.pk}, s.engine)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(w, in); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	p := w.Plaintext()
	return elapsed, s.input.check(p.Size, hex.EncodeToString(p.SHA256[:]))
}

// diskCopy copies the input to a new file and fsyncs it, with no
// cryptography: the file I/O that siirto encrypt cannot avoid. A plain
// read and write loop, so that no copy_file_range shortcut makes it look
// cheaper than writing a ciphertext is. For reading the ratios only.
func (s *setup) diskCopy() (time.Duration, error) {
	start := time.Now()
	in, f, done, err := s.openFiles("copy.bin")
	if err != nil {
		return 0, err
	}
	defer done()
	buf := make([]byte, 1<<20)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			if _, werr := f.Write(buf[:n]); werr != nil {
				return 0, werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return time.Since(start), f.Close()
}

// siirtoDecrypt runs what `siirto decrypt -o - NAME.json >/dev/null`
// runs: decrypt, and check the ciphertext and plaintext checksums
// against the manifest.
func (s *setup) siirtoDecrypt() (time.Duration, error) {
	manifest, err := os.ReadFile(filepath.Join(s.outDir, encrypt.ManifestName(bundleName)))
	if err != nil {
		return 0, err
	}
	start := time.Now()
	f, err := os.Open(filepath.Join(s.outDir, encrypt.PayloadName(bundleName)))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	_, err = verify.Check(context.Background(),
		verify.Bundle{Name: bundleName, Manifest: manifest, Payload: f, PayloadSize: st.Size()},
		verify.Options{Key: &s.sk, Plaintext: io.Discard, Engine: s.engine})
	return time.Since(start), err
}

// libraryReader decrypts the same bundle with the crypt4gh library's
// reader, hashing the ciphertext as it is read and the plaintext as it
// comes out, and checks both sums against siirto's manifest.
func (s *setup) libraryReader() (time.Duration, error) {
	manifest, err := os.ReadFile(filepath.Join(s.outDir, encrypt.ManifestName(bundleName)))
	if err != nil {
		return 0, err
	}
	m, err := verify.ParseManifest(manifest)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	f, err := os.Open(filepath.Join(s.outDir, encrypt.PayloadName(bundleName)))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	plainHash, cipherHash := sha256.New(), sha256.New()
	r, err := streaming.NewCrypt4GHReader(io.TeeReader(f, cipherHash), [chacha20poly1305.KeySize]byte(s.sk), nil)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.MultiWriter(io.Discard, plainHash), r)
	if err != nil {
		return 0, err
	}
	if err := r.Close(); err != nil {
		return 0, err
	}
	plainSum, cipherSum := hex.EncodeToString(plainHash.Sum(nil)), hex.EncodeToString(cipherHash.Sum(nil))
	elapsed := time.Since(start)
	if cipherSum != m.Payload.SHA256 {
		return 0, fmt.Errorf("ciphertext SHA-256 %s, the manifest says %s", cipherSum, m.Payload.SHA256)
	}
	return elapsed, s.input.check(n, plainSum)
}

// sealCeiling times [ceiling] over the setup's buffer with one part per
// core: the machine's limit, whatever -workers says.
func (s *setup) sealCeiling() (time.Duration, error) {
	return ceiling(s.ceiling, s.input.size, runtime.GOMAXPROCS(0))
}

// ceiling seals size bytes as Crypt4GH does (a nonce, then ChaCha20-Poly1305
// over each 64 KiB segment) and computes SHA-256 of the plaintext and of the
// sealed output: all the cryptographic work of an encryption with both
// checksums. buf is cut into parts, one goroutine each, and each goroutine
// loops over its part until it has done its share of size bytes, sealing
// into one reused segment buffer and hashing its own plaintext and
// ciphertext. There is no file I/O, no output order and no hand-off.
//
// That makes it slightly better than any real encryptor can be: a real
// stream has one plaintext and one ciphertext hash, each of which must
// see every byte in order on a single core, while here each part hashes
// independently. Nonces are a counter rather than random: the output is
// discarded, and siirto's random nonces cost 12 bytes per 64 KiB.
func ceiling(buf []byte, size int64, parts int) (time.Duration, error) {
	if len(buf) == 0 || parts < 1 {
		return 0, errors.New("ceiling: empty buffer")
	}
	parts = min(parts, len(buf))
	var key [chacha20poly1305.KeySize]byte
	if _, err := rand.Read(key[:]); err != nil {
		return 0, err
	}
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		return 0, err
	}
	partLen := len(buf) / parts
	share := size / int64(parts)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range parts {
		part := buf[i*partLen : (i+1)*partLen]
		todo := share
		if i == parts-1 {
			part = buf[i*partLen:]
			todo = size - share*int64(parts-1)
		}
		wg.Go(func() { sealPart(aead, uint32(i), part, todo) })
	}
	wg.Wait()
	return time.Since(start), nil
}

// sealPart is one goroutine of [ceiling]: it seals todo bytes, cycling
// over part, and hashes plaintext and ciphertext.
func sealPart(aead cipher.AEAD, id uint32, part []byte, todo int64) {
	const nonceSize = chacha20poly1305.NonceSize
	out := make([]byte, encrypt.SealedSegmentSize)
	plainHash, cipherHash := sha256.New(), sha256.New()
	var seq uint64
	for off := 0; todo > 0; {
		if off == len(part) {
			off = 0
		}
		n := int(min(int64(encrypt.SegmentSize), int64(len(part)-off), todo))
		seg := part[off : off+n]
		binary.LittleEndian.PutUint32(out[:4], id)
		binary.LittleEndian.PutUint64(out[4:nonceSize], seq)
		sealed := aead.Seal(out[nonceSize:nonceSize], out[:nonceSize], seg, nil)
		plainHash.Write(seg)
		cipherHash.Write(out[:nonceSize+len(sealed)])
		off += n
		todo -= int64(n)
		seq++
	}
	plainHash.Sum(nil)
	cipherHash.Sum(nil)
}
