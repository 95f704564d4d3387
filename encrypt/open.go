package encrypt

import (
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

type openBatch struct {
	sealed []byte // up to batchSegments sealed segments, as read
	plain  []byte
	first  int64 // index of the batch's first segment, for error messages
	err    error // a read or open error at this point of the stream
	done   chan struct{}
}

// Reader decrypts a Crypt4GH stream. Segments are opened in parallel and
// returned in order. Read returns [ErrTampered] or [ErrTruncated] at the
// point where the stream stops being authentic; nothing after that point
// is returned.
type Reader struct {
	header *Header
	aead   cipher.AEAD

	free   chan *openBatch
	toOpen chan *openBatch
	toRead chan *openBatch
	stop   chan struct{}
	wg     sync.WaitGroup

	cur                   *openBatch
	off                   int
	err                   error
	plainHash, cipherHash hash.Hash
	plain, cipher         Sums
	stopOnce, closeOnce   sync.Once
}

// NewReader parses the header from src, opens it with sk and returns a
// Reader for the plaintext. It fails with [ErrWrongKey] when the stream is
// not addressed to sk.
func NewReader(src io.Reader, sk SecretKey, opts *Options) (*Reader, error) {
	r := &Reader{plainHash: sha256.New(), cipherHash: sha256.New()}
	counted := &countingReader{r: io.TeeReader(src, r.cipherHash)}
	h, err := ParseHeader(counted)
	if err != nil {
		return nil, err
	}
	key, err := h.DataKey(sk)
	if err != nil {
		return nil, err
	}
	r.aead, err = chacha20poly1305.New(key[:])
	if err != nil {
		return nil, err
	}
	r.header = h
	r.cipher.Size = counted.n

	workers := opts.workers()
	n := inFlight(workers)
	r.free = make(chan *openBatch, n)
	for range n {
		r.free <- &openBatch{
			sealed: make([]byte, batchSegments*SealedSegmentSize),
			plain:  make([]byte, batchSegments*SegmentSize),
			done:   make(chan struct{}, 1),
		}
	}
	r.toOpen = make(chan *openBatch, n)
	r.toRead = make(chan *openBatch, n)
	r.stop = make(chan struct{})
	r.wg.Add(workers + 1)
	for range workers {
		go r.opener()
	}
	go r.reader(src)
	return r, nil
}

// Header returns the parsed header.
func (r *Reader) Header() *Header { return r.header }

// Plaintext returns the size and SHA-256 of the decrypted stream. Valid
// once Read has returned io.EOF.
func (r *Reader) Plaintext() Sums { return r.plain }

// Ciphertext returns the size and SHA-256 of the whole Crypt4GH stream,
// header included. Valid once Read has returned io.EOF.
func (r *Reader) Ciphertext() Sums { return r.cipher }

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if err := r.next(); err != nil {
		return 0, err
	}
	n := copy(p, r.cur.plain[r.off:])
	r.off += n
	return n, nil
}

// WriteTo writes the whole plaintext to w without an intermediate copy.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if err := r.next(); err != nil {
			if err == io.EOF {
				return total, nil
			}
			return total, err
		}
		n, err := w.Write(r.cur.plain[r.off:])
		r.off += n
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// Close stops the background work and waits for it, after which the
// source is no longer read. It is safe to call more than once.
func (r *Reader) Close() error {
	r.closeOnce.Do(func() {
		r.stopOnce.Do(func() { close(r.stop) })
		// Drain so that the reader goroutine, blocked on a full channel, exits.
		for b := range r.toRead {
			<-b.done
		}
		r.wg.Wait()
	})
	return nil
}

// next makes r.cur a batch with unread plaintext, or returns the error
// that ends the stream.
func (r *Reader) next() error {
	for r.cur == nil || r.off == len(r.cur.plain) {
		if r.err != nil {
			return r.err
		}
		if r.cur != nil {
			r.cur.plain = r.cur.plain[:cap(r.cur.plain)]
			r.free <- r.cur
			r.cur = nil
		}
		b, ok := <-r.toRead
		if !ok {
			r.err = io.EOF
			copy(r.plain.SHA256[:], r.plainHash.Sum(nil))
			copy(r.cipher.SHA256[:], r.cipherHash.Sum(nil))
			return r.err
		}
		<-b.done
		if b.err != nil {
			r.err = b.err
			r.stopOnce.Do(func() { close(r.stop) })
			return r.err
		}
		r.plainHash.Write(b.plain)
		r.plain.Size += int64(len(b.plain))
		r.cur, r.off = b, 0
	}
	return nil
}

func (r *Reader) reader(src io.Reader) {
	defer r.wg.Done()
	defer close(r.toRead)
	defer close(r.toOpen)
	var seg int64
	for {
		var b *openBatch
		select {
		case b = <-r.free:
		case <-r.stop:
			return
		}
		b.first = seg
		b.sealed = b.sealed[:cap(b.sealed)]
		n, err := io.ReadFull(src, b.sealed)
		b.sealed = b.sealed[:n]
		last := false
		switch {
		case err == io.EOF:
			r.free <- b
			return
		case err == io.ErrUnexpectedEOF:
			last = true
			if tail := n % SealedSegmentSize; tail != 0 && tail < segmentOverhead {
				b.err = fmt.Errorf("%w: the last segment is only %d bytes long", ErrTruncated, tail)
			}
		case err != nil:
			b.err = err
		}
		seg += int64((n + SealedSegmentSize - 1) / SealedSegmentSize)
		// Hashed here, in stream order, so the consumer only hashes plaintext.
		r.cipherHash.Write(b.sealed)
		r.cipher.Size += int64(n)
		end := last || b.err != nil // read before b is handed on
		if b.err != nil {
			b.done <- struct{}{}
		} else {
			r.toOpen <- b
		}
		select {
		case r.toRead <- b:
		case <-r.stop:
			return
		}
		if end {
			return
		}
	}
}

func (r *Reader) opener() {
	defer r.wg.Done()
	for b := range r.toOpen {
		out := 0
		for off, i := 0, b.first; off < len(b.sealed); off, i = off+SealedSegmentSize, i+1 {
			seg := b.sealed[off:min(off+SealedSegmentSize, len(b.sealed))]
			nonce, ct := seg[:chacha20poly1305.NonceSize], seg[chacha20poly1305.NonceSize:]
			pt, err := r.aead.Open(b.plain[out:out], nonce, ct, nil)
			if err != nil {
				b.err = fmt.Errorf("%w: segment %d (file offset %d) does not authenticate", ErrTampered, i, r.header.Size+i*SealedSegmentSize)
				break
			}
			out += len(pt)
		}
		b.plain = b.plain[:out]
		b.done <- struct{}{}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Errors returned by the engine. Callers match them with errors.Is; the
// verify package maps them to stable error codes.
var (
	ErrNotCrypt4GH = errors.New("not a Crypt4GH file")
	ErrHeader      = errors.New("invalid Crypt4GH header")
	ErrWrongKey    = errors.New("the file is not encrypted to this key")
	ErrTampered    = errors.New("the encrypted data has been altered or damaged")
	ErrTruncated   = errors.New("the encrypted data is cut short")
	ErrUnsupported = errors.New("unsupported Crypt4GH feature")
)
