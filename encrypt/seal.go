package encrypt

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/chacha20poly1305"
)

// Segment geometry, fixed by the Crypt4GH standard.
const (
	// SegmentSize is the plaintext size of a full data segment.
	SegmentSize = 65536
	// SealedSegmentSize is the size of a full segment on disk: nonce,
	// ciphertext and tag.
	SealedSegmentSize = chacha20poly1305.NonceSize + SegmentSize + chacha20poly1305.Overhead
	segmentOverhead   = chacha20poly1305.NonceSize + chacha20poly1305.Overhead
)

// batchSegments segments make one unit of work: 1 MiB is large enough to
// amortise channel hand-offs and small enough that a few batches in flight
// keep memory flat.
const batchSegments = 16

// Sums describes a byte stream: its length and SHA-256.
type Sums struct {
	Size   int64
	SHA256 [sha256.Size]byte
}

// Options tune the segment engine. The zero value is ready to use.
type Options struct {
	// Workers is the number of goroutines that seal or open segments.
	// Zero means GOMAXPROCS.
	Workers int
}

func (o *Options) workers() int {
	if o == nil || o.Workers <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return o.Workers
}

// inFlight is how many batches exist per stream: enough to keep every
// stage busy, and the bound on memory (2 MiB each).
func inFlight(workers int) int { return workers + 4 }

type sealBatch struct {
	plain  []byte // filled by the caller, batchSegments*SegmentSize cap
	n      int
	sealed []byte // nonce|ciphertext|tag per segment
	done   chan struct{}
	refs   atomic.Int32 // stages still using the batch: plaintext hash, output
}

// Writer encrypts a stream into Crypt4GH. It is an io.WriteCloser; the
// ciphertext reaches the destination in order, while segments are sealed
// in parallel. Close must be called to flush the last segment.
type Writer struct {
	dst    io.Writer
	aead   cipher.AEAD
	sender PublicKey

	cur    *sealBatch
	free   chan *sealBatch
	toSeal chan *sealBatch
	toHash chan *sealBatch
	toOut  chan *sealBatch
	wg     sync.WaitGroup

	plainHash, cipherHash hash.Hash
	plain, cipher         Sums

	errMu  sync.Mutex
	err    error
	closed bool
}

// NewWriter writes a Crypt4GH header for recipients to dst and returns a
// Writer for the payload. If sender is nil, an ephemeral writer key is
// used, as the crypt4gh tools do by default.
func NewWriter(dst io.Writer, sender *SecretKey, recipients []PublicKey, opts *Options) (*Writer, error) {
	if len(recipients) == 0 {
		return nil, errors.New("encrypt: at least one recipient is required")
	}
	if len(recipients) > maxPackets {
		return nil, errors.New("encrypt: too many recipients")
	}
	var writerKey SecretKey
	if sender != nil {
		writerKey = *sender
	} else {
		var err error
		if _, writerKey, err = GenerateKey(); err != nil {
			return nil, err
		}
	}
	dataKey, err := newDataKey()
	if err != nil {
		return nil, err
	}
	hdr, err := marshalHeader(writerKey, recipients, dataKey)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(dataKey[:])
	if err != nil {
		return nil, err
	}
	w := &Writer{dst: dst, aead: aead, sender: writerKey.Public(), plainHash: sha256.New(), cipherHash: sha256.New()}
	if _, err := dst.Write(hdr); err != nil {
		return nil, err
	}
	w.cipherHash.Write(hdr)
	w.cipher.Size = int64(len(hdr))

	workers := opts.workers()
	n := inFlight(workers)
	w.free = make(chan *sealBatch, n)
	for range n {
		w.free <- &sealBatch{
			plain:  make([]byte, batchSegments*SegmentSize),
			sealed: make([]byte, batchSegments*SealedSegmentSize),
			done:   make(chan struct{}, 1),
		}
	}
	w.toSeal = make(chan *sealBatch, n)
	w.toHash = make(chan *sealBatch, n)
	w.toOut = make(chan *sealBatch, n)
	w.wg.Add(workers + 2)
	for range workers {
		go w.sealer()
	}
	go w.hasher()
	go w.output()
	w.cur = <-w.free
	return w, nil
}

// Write encrypts p. It buffers up to a batch and never holds on to p.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.failed(); err != nil {
		return 0, err
	}
	if w.closed {
		return 0, errors.New("encrypt: write after close")
	}
	total := 0
	for len(p) > 0 {
		c := copy(w.cur.plain[w.cur.n:], p)
		w.cur.n += c
		p = p[c:]
		total += c
		if w.cur.n == len(w.cur.plain) {
			if err := w.dispatch(); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// ReadFrom encrypts everything r yields, reading straight into the batch
// buffers (io.Copy uses it, which saves a copy of every byte).
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.closed {
		return 0, errors.New("encrypt: write after close")
	}
	var total int64
	for {
		if err := w.failed(); err != nil {
			return total, err
		}
		n, err := r.Read(w.cur.plain[w.cur.n:])
		w.cur.n += n
		total += int64(n)
		if w.cur.n == len(w.cur.plain) {
			if derr := w.dispatch(); derr != nil {
				return total, derr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Close seals the final segment, waits for all output and reports the
// first error from any stage. The sums are valid after a nil return.
func (w *Writer) Close() error {
	if w.closed {
		return w.failed()
	}
	w.closed = true
	if w.cur.n > 0 {
		w.send(w.cur)
	}
	w.cur = nil
	close(w.toSeal)
	close(w.toHash)
	close(w.toOut)
	w.wg.Wait()
	if err := w.failed(); err != nil {
		return err
	}
	copy(w.plain.SHA256[:], w.plainHash.Sum(nil))
	copy(w.cipher.SHA256[:], w.cipherHash.Sum(nil))
	return nil
}

// Sender returns the writer public key in the header packets: the
// sender's key, or the ephemeral one made for this stream.
func (w *Writer) Sender() PublicKey { return w.sender }

// Plaintext returns the size and SHA-256 of what was written. Valid after Close.
func (w *Writer) Plaintext() Sums { return w.plain }

// Ciphertext returns the size and SHA-256 of the whole Crypt4GH stream,
// header included. Valid after Close.
func (w *Writer) Ciphertext() Sums { return w.cipher }

func (w *Writer) dispatch() error {
	w.send(w.cur)
	w.cur = <-w.free
	return w.failed()
}

func (w *Writer) send(b *sealBatch) {
	b.refs.Store(2)
	w.toSeal <- b
	w.toHash <- b
	w.toOut <- b
}

func (w *Writer) release(b *sealBatch) {
	if b.refs.Add(-1) == 0 {
		b.n = 0
		w.free <- b
	}
}

func (w *Writer) sealer() {
	defer w.wg.Done()
	var nonces [batchSegments * chacha20poly1305.NonceSize]byte
	for b := range w.toSeal {
		// crypto/rand.Read never fails (Go 1.24+ crashes the program
		// instead), so no path can ever seal with a reused nonce.
		_, _ = rand.Read(nonces[:])
		out := 0
		for off, i := 0, 0; off < b.n; off, i = off+SegmentSize, i+1 {
			end := min(off+SegmentSize, b.n)
			nonce := nonces[i*chacha20poly1305.NonceSize : (i+1)*chacha20poly1305.NonceSize]
			copy(b.sealed[out:], nonce)
			sealed := w.aead.Seal(b.sealed[out+len(nonce):out+len(nonce)], nonce, b.plain[off:end], nil)
			out += len(nonce) + len(sealed)
		}
		b.sealed = b.sealed[:out]
		b.done <- struct{}{}
	}
}

func (w *Writer) hasher() {
	defer w.wg.Done()
	for b := range w.toHash {
		w.plainHash.Write(b.plain[:b.n])
		w.plain.Size += int64(b.n)
		w.release(b)
	}
}

func (w *Writer) output() {
	defer w.wg.Done()
	for b := range w.toOut {
		<-b.done
		if w.failed() == nil {
			w.cipherHash.Write(b.sealed)
			if _, err := w.dst.Write(b.sealed); err != nil {
				w.fail(err)
			}
			w.cipher.Size += int64(len(b.sealed))
		}
		b.sealed = b.sealed[:cap(b.sealed)]
		w.release(b)
	}
}

func (w *Writer) fail(err error) {
	w.errMu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.errMu.Unlock()
}

func (w *Writer) failed() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}
