package encrypt

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A writeRing submits a payload's direct writes through io_uring, so no
// goroutine ever sits in a blocking write(2).
//
// Why: a goroutine in a blocking system call keeps its P (Go's right to
// run code) until the runtime's monitor takes it back, which can take up
// to 10 ms when the program is otherwise busy; goroutines it woke just
// before wait on that P meanwhile. On two cores, a 4 MiB direct write
// every 3 ms held one P for about a third of siirto encrypt's time (a
// blocking 2 ms sleep in place of each write cost as much; a parked 2 ms
// wait cost nothing). With the ring, submitting returns at once, and
// completions wake a goroutine parked in Go's network poller on an
// eventfd, which holds no P while it waits.
//
// Where io_uring is missing or refused (kernels before 5.6, seccomp
// profiles such as Docker's, io_uring_disabled), newWriteRing fails and
// the payload falls back to a goroutine with blocking writes.
type writeRing struct {
	fd  int
	mem []byte // SQ and CQ rings (one mapping: IORING_FEAT_SINGLE_MMAP)
	sqe []byte // submission queue entries

	sqHead, sqTail *uint32
	sqMask         *uint32
	sqArray        unsafe.Pointer
	cqHead, cqTail *uint32
	cqMask         *uint32
	cqes           unsafe.Pointer
	event          *os.File // eventfd, signalled on every completion
	broken         error    // the submission that failed (see submit)
}

// io_uring ABI (include/uapi/linux/io_uring.h); the same on every
// architecture Go supports on Linux.
const (
	ringOffSQ      = 0
	ringOffSQEs    = 0x10000000
	ringFeatSingle = 1 << 0 // IORING_FEAT_SINGLE_MMAP, 5.4
	ringFeatCurPos = 1 << 3 // IORING_FEAT_RW_CUR_POS, 5.6: IORING_OP_WRITE exists
	ringOpNop      = 0      // IORING_OP_NOP
	ringOpWrite    = 23     // IORING_OP_WRITE
	ringDrain      = 1 << 1 // IOSQE_IO_DRAIN: start after everything before
	ringRegEventfd = 4      // IORING_REGISTER_EVENTFD
	ringSQESize    = 64
	ringCQESize    = 16
	ringParamsSize = 120
)

// ringParams is struct io_uring_params.
type ringParams struct {
	sqEntries, cqEntries uint32
	flags                uint32
	sqThreadCPU          uint32
	sqThreadIdle         uint32
	features             uint32
	wqFD                 uint32
	resv                 [3]uint32
	// head, tail, ring_mask, ring_entries, flags, dropped, array, resv1,
	// then user_addr (u64).
	sqOff [10]uint32
	// head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1,
	// then user_addr (u64).
	cqOff [10]uint32
}

// ringSQE is struct io_uring_sqe, as far as a write uses it.
type ringSQE struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64
	len      uint32
	rwFlags  uint32
	userData uint64
	_        [24]byte
}

func init() {
	// The layouts above must match the kernel's byte for byte.
	if unsafe.Sizeof(ringParams{}) != ringParamsSize || unsafe.Sizeof(ringSQE{}) != ringSQESize {
		panic("encrypt: io_uring structure sizes are wrong")
	}
	// And a write's tag must hold its slot and length (see writeTag).
	if directBuffers > 0xff || directChunk/directBlock > 0xffff {
		panic("encrypt: direct buffers do not fit a write's tag")
	}
}

// errRingUnavailable wraps why io_uring cannot be used here.
var errRingUnavailable = errors.New("io_uring unavailable")

// newWriteRing sets up a ring with room for entries writes in flight.
func newWriteRing(entries uint32) (*writeRing, error) {
	var p ringParams
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("%w: %v", errRingUnavailable, errno)
	}
	r := &writeRing{fd: int(fd)}
	if err := r.setup(&p); err != nil {
		r.close()
		return nil, fmt.Errorf("%w: %v", errRingUnavailable, err)
	}
	return r, nil
}

// setup maps the rings of r.fd, as p describes them, and registers an
// eventfd. On an error, r is partly set up: close releases what there is.
func (r *writeRing) setup(p *ringParams) error {
	if p.features&ringFeatSingle == 0 || p.features&ringFeatCurPos == 0 {
		return fmt.Errorf("kernel too old (features %#x)", p.features)
	}
	sqSize := int(p.sqOff[6]) + int(p.sqEntries)*4
	cqSize := int(p.cqOff[5]) + int(p.cqEntries)*ringCQESize
	var err error
	if r.mem, err = unix.Mmap(r.fd, ringOffSQ, max(sqSize, cqSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return err
	}
	if r.sqe, err = unix.Mmap(r.fd, ringOffSQEs, int(p.sqEntries)*ringSQESize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return err
	}
	at := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&r.mem[off])) }
	r.sqHead, r.sqTail, r.sqMask = at(p.sqOff[0]), at(p.sqOff[1]), at(p.sqOff[2])
	r.sqArray = unsafe.Pointer(&r.mem[p.sqOff[6]])
	r.cqHead, r.cqTail, r.cqMask = at(p.cqOff[0]), at(p.cqOff[1]), at(p.cqOff[2])
	r.cqes = unsafe.Pointer(&r.mem[p.cqOff[5]])

	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return err
	}
	// A non-blocking descriptor: os.NewFile hands it to the poller, so a
	// Read parks the goroutine instead of blocking a thread.
	r.event = os.NewFile(uintptr(efd), "io_uring-eventfd")
	fd32 := int32(efd)
	if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), ringRegEventfd, uintptr(unsafe.Pointer(&fd32)), 1, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// submit queues one operation, a write of buf at off into fd, say,
// tagged with tag. Only one goroutine may submit, and no more than the
// ring's entries may be in flight: the caller's buffers bound both. buf
// must stay referenced and unchanged until its completion is reaped.
//
// After an error the ring is broken: the entry may still sit in the
// queue, to be taken by any later io_uring_enter, so submit refuses to
// enter again, and the caller must not reuse buf.
func (r *writeRing) submit(op, flags uint8, fd int, buf []byte, off int64, tag uint64) error {
	if r.broken != nil {
		return r.broken
	}
	tail := atomic.LoadUint32(r.sqTail)
	idx := tail & atomic.LoadUint32(r.sqMask)
	sqe := (*ringSQE)(unsafe.Pointer(&r.sqe[int(idx)*ringSQESize]))
	*sqe = ringSQE{
		opcode:   op,
		flags:    flags,
		fd:       int32(fd),
		off:      uint64(off),
		addr:     uint64(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))),
		len:      uint32(len(buf)),
		userData: tag,
	}
	*(*uint32)(unsafe.Add(r.sqArray, 4*idx)) = idx
	atomic.StoreUint32(r.sqTail, tail+1)
	for try := 0; ; try++ {
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 1, 0, 0, 0, 0)
		// These come before the entry is taken: it can be entered again.
		if errno == unix.EINTR || (errno == unix.EAGAIN || errno == unix.EBUSY) && try < 100 {
			continue
		}
		switch {
		case errno != 0:
			r.broken = fmt.Errorf("io_uring submit: %w", errno)
		case n != 1 || atomic.LoadUint32(r.sqHead) != tail+1:
			r.broken = fmt.Errorf("io_uring submit: %d entries taken, want 1", n)
		}
		return r.broken
	}
}

// completion is one finished write: its tag, and the bytes written or a
// negative errno.
type completion struct {
	tag uint64
	res int32
}

// wait blocks (parked, holding no P) until at least one completion is
// there, and returns all there are. Only one goroutine may wait.
func (r *writeRing) wait(buf []completion) ([]completion, error) {
	var counter [8]byte
	for {
		buf = r.reap(buf[:0])
		if len(buf) > 0 {
			return buf, nil
		}
		if _, err := r.event.Read(counter[:]); err != nil {
			return nil, err
		}
	}
}

func (r *writeRing) reap(buf []completion) []completion {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	mask := atomic.LoadUint32(r.cqMask)
	for ; head != tail; head++ {
		cqe := unsafe.Add(r.cqes, uintptr(head&mask)*ringCQESize)
		buf = append(buf, completion{tag: *(*uint64)(cqe), res: *(*int32)(unsafe.Add(cqe, 8))})
	}
	atomic.StoreUint32(r.cqHead, head)
	return buf
}

// close releases the ring, including one that setup left half done.
func (r *writeRing) close() {
	if r.event != nil {
		r.event.Close()
	}
	if r.sqe != nil {
		_ = unix.Munmap(r.sqe)
	}
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
	}
	if r.fd >= 0 {
		unix.Close(r.fd)
	}
}
