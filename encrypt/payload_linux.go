package encrypt

import (
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Payload files are written around the page cache (O_DIRECT) in aligned
// 4 MiB blocks: on the machines measured, buffered writes plus fsync reach
// the disk at a fraction of its speed, and erratically, while direct
// writes are durable as they go and do not evict the user's cache with
// gigabytes that will not be read again. The last, partial block goes
// through the page cache, and a file system that refuses O_DIRECT gets
// the buffered path with early writeback. The direct writes are
// submitted through io_uring where the kernel allows it (uring_linux.go
// says why), and written by a goroutine with blocking writes where not.
//
// Memory: three 4 MiB buffers per payload being written.
//
// The sizes (directBlock, directChunk, directMin) are in payloadread.go.
const (
	// writebackWindow is how much buffered data may wait before the kernel
	// is asked to write it out.
	writebackWindow = 8 << 20
)

type linuxPayload struct {
	f      *os.File
	direct bool

	// Direct mode: the caller fills cur (buffer slot curSlot) while the
	// blocks before it are written at their offsets, so hashing and disk
	// writes overlap. Writes go through ring if io_uring works here, and
	// through a goroutine with blocking writes (full) if not.
	bufs    [][]byte
	refs    []atomic.Int32 // per slot: stages still using it (write, hash)
	free    chan int       // free slots
	cur     []byte
	curSlot int
	n       int
	off     int64 // file offset of cur
	ring    *writeRing
	full    chan directWrite
	wg      sync.WaitGroup
	werr    atomic.Pointer[error]

	// sum, if not nil, hashes what is written: in direct mode on a
	// goroutine of its own, in order, off the caller's path (see
	// newWritebackFile).
	sum   hash.Hash
	hashq chan directWrite

	// Buffered mode.
	written int64 // bytes written to f
	started int64 // offset up to which writeback was started
}

// directWrite is a full buffer (or the last whole blocks of one) on its
// way to the disk.
type directWrite struct {
	slot int
	n    int
	off  int64
}

// directBuffers rotate between the caller and the writes in flight.
const directBuffers = 3

// Writing modes, for newLinuxPayload.
const (
	writeRingOrBlocking = iota // io_uring where it works
	writeBlocking              // a goroutine with blocking writes
)

func newPayloadFile(f *os.File) PayloadFile { return newLinuxPayload(f, nil, writeRingOrBlocking) }

func newBufferedFile(f *os.File) PayloadFile { return &linuxPayload{f: f} }

func newLinuxPayload(f *os.File, sum hash.Hash, mode int) *linuxPayload {
	p := &linuxPayload{f: f, sum: sum}
	if !directWorks(f) {
		return p
	}
	p.direct = true
	p.bufs = make([][]byte, directBuffers)
	p.refs = make([]atomic.Int32, directBuffers)
	p.free = make(chan int, directBuffers)
	for i := range p.bufs {
		p.bufs[i] = alignedBuffer(directChunk)
		p.free <- i
	}
	p.curSlot = <-p.free
	p.cur = p.bufs[p.curSlot]
	if sum != nil {
		p.hashq = make(chan directWrite, directBuffers)
		p.wg.Add(1)
		go p.hasher()
	}
	if mode == writeRingOrBlocking {
		// Room for every buffer and the closing marker.
		if r, err := newWriteRing(directBuffers + 1); err == nil {
			p.ring = r
			p.wg.Add(1)
			go p.completer()
			return p
		}
	}
	p.full = make(chan directWrite, directBuffers)
	p.wg.Add(1)
	go p.writer()
	return p
}

func alignedBuffer(n int) []byte {
	raw := make([]byte, n+directBlock)
	off := int(-uintptr(unsafe.Pointer(&raw[0])) & (directBlock - 1))
	return raw[off : off+n]
}

// openDirect opens name for reading around the page cache, or returns
// nil where the file system refuses.
func openDirect(name string) *os.File {
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(fd), name)
}

// directWorks switches f to O_DIRECT if its file system accepts a direct
// write (tmpfs and some FUSE file systems do not), probing with one block
// that is then truncated away.
func directWorks(f *os.File) bool {
	if setDirect(f, true) != nil {
		return false
	}
	if _, err := f.WriteAt(alignedBuffer(directBlock), 0); err != nil {
		_ = setDirect(f, false)
		return false
	}
	return f.Truncate(0) == nil
}

func setDirect(f *os.File, on bool) error {
	fd := f.Fd()
	flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if on {
		flags |= unix.O_DIRECT
	} else {
		flags &^= unix.O_DIRECT
	}
	_, err = unix.FcntlInt(fd, unix.F_SETFL, flags)
	return err
}

// writer writes blocks with blocking system calls, where io_uring is
// not available.
func (p *linuxPayload) writer() {
	defer p.wg.Done()
	for b := range p.full {
		if p.werr.Load() == nil {
			if _, err := p.f.WriteAt(p.bufs[b.slot][:b.n], b.off); err != nil {
				p.fail(err)
			}
		}
		p.release(b.slot)
	}
}

// ringDone tags the marker submitted after the last write: it completes
// only after every write before it (IOSQE_IO_DRAIN).
const ringDone = ^uint64(0)

// A write's tag carries what its completion needs, so that nothing is
// shared with the submitting goroutine but the ring: the slot (8 bits),
// the length and the offset in 4 KiB blocks (16 and 40 bits).
func writeTag(b directWrite) uint64 {
	return uint64(b.slot) | uint64(b.n/directBlock)<<8 | uint64(b.off/directBlock)<<24
}

func tagWrite(tag uint64) directWrite {
	return directWrite{slot: int(tag & 0xff), n: int(tag>>8&0xffff) * directBlock, off: int64(tag>>24) * directBlock}
}

// completer reaps the ring's completions, parked between them, until
// the closing marker.
func (p *linuxPayload) completer() {
	defer p.wg.Done()
	var cs []completion
	for {
		var err error
		if cs, err = p.ring.wait(cs); err != nil {
			// Only a closed eventfd gets here (see stop); writes still
			// in flight are the kernel's to finish or cancel.
			p.fail(err)
			return
		}
		done := false
		for _, c := range cs {
			if c.tag == ringDone {
				done = true
				continue
			}
			b := tagWrite(c.tag)
			// Pairs with the Store in send: the buffer's contents were
			// written before it, which the race detector cannot see
			// through the kernel.
			p.refs[b.slot].Load()
			errno := unix.Errno(-c.res)
			switch {
			case int(c.res) == b.n:
				// Written whole.
			case c.res >= 0 || errno == unix.EAGAIN || errno == unix.EINTR:
				// Written in part (the disk filling up, say), or not at
				// all for a passing reason: the rest the plain way,
				// which says why it cannot.
				written := max(int(c.res), 0)
				if _, err := p.f.WriteAt(p.bufs[b.slot][written:b.n], b.off+int64(written)); err != nil {
					p.fail(err)
				}
			default:
				p.fail(&os.PathError{Op: "write", Path: p.f.Name(), Err: errno})
			}
			p.release(b.slot)
		}
		if done {
			return
		}
	}
}

// hasher hashes the blocks in order while they are written.
func (p *linuxPayload) hasher() {
	defer p.wg.Done()
	for b := range p.hashq {
		p.sum.Write(p.bufs[b.slot][:b.n])
		p.release(b.slot)
	}
}

func (p *linuxPayload) release(slot int) {
	if p.refs[slot].Add(-1) == 0 {
		p.free <- slot
	}
}

func (p *linuxPayload) fail(err error) {
	p.werr.CompareAndSwap(nil, &err)
}

// send hands the first n bytes of the current buffer to the hasher and
// the disk. After an error the buffer may still be queued in the ring:
// the caller must give up on the payload.
func (p *linuxPayload) send(n int) error {
	b := directWrite{slot: p.curSlot, n: n, off: p.off}
	p.off += int64(n)
	if p.hashq != nil {
		p.refs[b.slot].Store(2)
		p.hashq <- b
	} else {
		p.refs[b.slot].Store(1)
	}
	if p.ring == nil {
		p.full <- b
		return nil
	}
	if err := p.ring.submit(ringOpWrite, 0, int(p.f.Fd()), p.bufs[b.slot][:n], b.off, writeTag(b)); err != nil {
		// The slot is not released: the kernel may yet read it.
		p.fail(err)
		return err
	}
	return nil
}

func (p *linuxPayload) Write(b []byte) (int, error) {
	if !p.direct {
		return p.buffered(b)
	}
	if e := p.werr.Load(); e != nil {
		return 0, *e
	}
	total := 0
	for len(b) > 0 {
		c := copy(p.cur[p.n:], b)
		p.n += c
		b = b[c:]
		total += c
		if p.n == len(p.cur) {
			if err := p.send(p.n); err != nil {
				return total, err
			}
			p.curSlot, p.n = <-p.free, 0
			p.cur = p.bufs[p.curSlot]
		}
	}
	return total, nil
}

// stop waits until every block sent is written (and hashed) and the
// goroutines have ended.
func (p *linuxPayload) stop() error {
	if p.ring != nil {
		if err := p.ring.submit(ringOpNop, ringDrain, -1, nil, 0, ringDone); err != nil {
			// The completer would wait for a marker that never comes:
			// closing the eventfd wakes it with an error instead.
			p.fail(err)
			p.ring.event.Close()
		}
	} else {
		close(p.full)
	}
	if p.hashq != nil {
		close(p.hashq)
	}
	p.wg.Wait()
	if p.ring != nil {
		p.ring.close()
	}
	if e := p.werr.Load(); e != nil {
		return *e
	}
	return nil
}

// buffered writes through the page cache and starts writeback of each
// completed window, waiting for the window two back, so the disk works
// while segments are sealed and dirty memory stays bounded.
func (p *linuxPayload) buffered(b []byte) (int, error) {
	n, err := p.f.Write(b)
	if p.sum != nil {
		p.sum.Write(b[:n])
	}
	p.written += int64(n)
	fd := int(p.f.Fd())
	for p.written-p.started >= writebackWindow {
		_ = unix.SyncFileRange(fd, p.started, writebackWindow, unix.SYNC_FILE_RANGE_WRITE)
		if back := p.started - 2*writebackWindow; back >= 0 {
			_ = unix.SyncFileRange(fd, back, writebackWindow,
				unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
		}
		p.started += writebackWindow
	}
	return n, err
}

// Abort stops the writing goroutines after a failure, so that nothing
// outlives a cancelled or failed bundle.
func (p *linuxPayload) Abort() {
	if p.direct {
		p.direct = false
		_ = p.stop()
	}
}

// Finish writes what is left and syncs the file.
func (p *linuxPayload) Finish() error {
	if e := p.werr.Load(); p.direct && e != nil {
		p.Abort()
		return *e
	}
	if p.direct {
		// Whole blocks go direct; a partial last block cannot.
		whole := p.n &^ (directBlock - 1)
		tail := append([]byte(nil), p.cur[whole:p.n]...)
		if whole > 0 {
			// An error is in p.werr, which stop returns.
			_ = p.send(whole)
		}
		// The writing goroutines are done with either way: a later
		// Abort must not stop them again.
		p.direct = false
		if err := p.stop(); err != nil {
			return err
		}
		if err := setDirect(p.f, false); err != nil {
			return err
		}
		// Positioned writes leave the file offset where it was.
		if _, err := p.f.Seek(p.off, io.SeekStart); err != nil {
			return err
		}
		p.written, p.started = p.off, p.off
		if _, err := p.buffered(tail); err != nil {
			return err
		}
	}
	return p.f.Sync()
}

// newWritebackFile returns the writer for an extracted file of the given
// (declared) size, which also feeds sum; the sum is complete after
// Finish. A large file is written like a payload, directly: buffered
// writes and the fsync that must follow run at a third of the disk's
// speed here (2 GiB: 3.2 s against 1.0 s, measured with dd), and the
// writing goroutine hashes it, taking a SHA-256 pass off the decrypting
// path (2 GiB staged in 2.7 s instead of 3.4 s on two cores). A small one
// goes through the page cache, with writeback started every few MiB so
// that Finish's sync is short.
func newWritebackFile(f *os.File, size int64, sum hash.Hash) PayloadFile {
	if size >= directMin {
		return newLinuxPayload(f, sum, writeRingOrBlocking)
	}
	return &linuxPayload{f: f, sum: sum}
}
