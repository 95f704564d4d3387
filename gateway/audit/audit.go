// Package audit keeps the gateway's audit log: who did what, when, to
// which bundle. It is a file of JSON lines that is only ever appended to,
// and each line holds the SHA-256 of the line before it, so any edit,
// deletion or reordering breaks the chain and Verify finds it. Removing
// lines from the end is found by comparing with a head hash kept
// elsewhere (the ledger records the hash of the last entry it wrote).
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Genesis is the "previous hash" of the first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one audited event. Fields holds details (sizes, codes, an
// address); it never holds personal data, secrets or inner file names.
type Entry struct {
	Seq     int64             `json:"seq"`
	Time    time.Time         `json:"time"`
	Actor   string            `json:"actor"`  // "gateway", "user:alice", "staff:bob", an address
	Action  string            `json:"action"` // "upload", "login_failed", "state", "decrypt", …
	Journal string            `json:"journal,omitempty"`
	Bundle  string            `json:"bundle,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
	Prev    string            `json:"prev"`
	Hash    string            `json:"hash"`
}

// hash is the SHA-256 of the entry's JSON with an empty Hash field, which
// covers Prev and so chains the entries.
func (e Entry) hash() (string, error) {
	e.Hash = ""
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Log appends entries to an audit file. It is safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	off  int64 // where this process's view of the file ends
	seq  int64
	head string
	now  func() time.Time
}

// Open opens (or creates, 0600) the audit file at path, verifies the
// whole chain, and continues it. A last line cut short by a crash is
// removed first (it was never acknowledged); any other damage is an error,
// because appending to a broken chain would hide it.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	unlock, err := lockFile(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	defer unlock()
	seq, head, good, err := scan(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &Log{f: f, off: good, seq: seq, head: head, now: time.Now}, nil
}

// Head returns the hash of the last entry (Genesis for an empty log), for
// the ledger to keep: Verify against it also finds lines removed from the end.
func (l *Log) Head() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if unlock, err := lockFile(l.f); err == nil {
		_ = l.catchUp() // entries other processes appended count too
		unlock()
	}
	return l.head
}

// Append writes e as the next entry, chained to the last, and syncs it to
// disk before returning. Seq, Time (if zero), Prev and Hash are set here.
func (l *Log) Append(e Entry) (Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// The server and the admin commands append to the same file: a file
	// lock orders them, and each first continues the chain from entries
	// another process wrote since its last append.
	unlock, err := lockFile(l.f)
	if err != nil {
		return e, err
	}
	defer unlock()
	if err := l.catchUp(); err != nil {
		return e, err
	}
	e.Seq = l.seq + 1
	if e.Time.IsZero() {
		e.Time = l.now().UTC()
	}
	e.Prev = l.head
	h, err := e.hash()
	if err != nil {
		return e, err
	}
	e.Hash = h
	line, err := json.Marshal(e)
	if err != nil {
		return e, err
	}
	line = append(line, '\n')
	if _, err := l.f.WriteAt(line, l.off); err != nil {
		return e, err
	}
	if err := l.f.Sync(); err != nil {
		return e, err
	}
	l.off += int64(len(line))
	l.seq, l.head = e.Seq, e.Hash
	return e, nil
}

// catchUp reads entries appended by other processes since l.off and
// drops a line another process left cut short by a crash.
func (l *Log) catchUp() error {
	info, err := l.f.Stat()
	if err != nil {
		return err
	}
	if info.Size() == l.off {
		return nil
	}
	if info.Size() < l.off {
		return fmt.Errorf("%w: the file shrank from %d to %d bytes", ErrBroken, l.off, info.Size())
	}
	seq, head, good, err := scanFrom(io.NewSectionReader(l.f, l.off, info.Size()-l.off), l.seq, l.head, nil)
	if err != nil {
		return err
	}
	l.seq, l.head, l.off = seq, head, l.off+good
	if l.off < info.Size() {
		return l.f.Truncate(l.off)
	}
	return nil
}

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }

// Verify reads an audit log and checks its chain: every entry's hash, its
// link to the one before, and consecutive sequence numbers. With head not
// empty, the last entry must be that one, which also catches lines removed
// from the end. It returns the number of entries.
func Verify(r io.Reader, head string) (int64, error) {
	seq, last, _, err := scan(r)
	if err != nil {
		return seq, err
	}
	if head != "" && last != head {
		return seq, fmt.Errorf("%w: the log ends at entry %d with hash %s, but the last recorded hash is %s: entries were removed from the end", ErrBroken, seq, short(last), short(head))
	}
	return seq, nil
}

// VerifyReaches checks the chain like Verify and that it holds entry seq
// with the given hash: a head recorded elsewhere a little after the fact
// (entries after it are fine; the log cut below it, or rewritten, is not).
func VerifyReaches(r io.Reader, seq int64, hash string) (int64, error) {
	found := ""
	n, _, _, err := scanFrom(r, 0, Genesis, func(e Entry) {
		if e.Seq == seq {
			found = e.Hash
		}
	})
	if err != nil {
		return n, err
	}
	switch {
	case seq > n:
		return n, fmt.Errorf("%w: the log ends at entry %d, but entry %d was recorded: entries were removed from the end", ErrBroken, n, seq)
	case found != hash:
		return n, fmt.Errorf("%w: entry %d has hash %s, but %s was recorded", ErrBroken, seq, short(found), short(hash))
	}
	return n, nil
}

// ErrBroken reports an audit log whose chain does not hold.
var ErrBroken = errors.New("the audit log has been altered")

// scan checks the chain and returns the last sequence number, the last
// hash, and how many bytes hold complete entries (a final line without a
// newline is a write cut short, not counted and not an error).
func scan(r io.Reader) (seq int64, head string, good int64, err error) {
	return scanFrom(r, 0, Genesis, nil)
}

// scanFrom is scan continuing a chain that ends at seq and head; visit,
// if not nil, sees every entry that checks out.
func scanFrom(r io.Reader, seq int64, head string, visit func(Entry)) (int64, string, int64, error) {
	var good int64
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, rerr := br.ReadBytes('\n')
		if rerr == io.EOF {
			return seq, head, good, nil // a partial last line, if any, is dropped
		}
		if rerr != nil {
			return seq, head, good, rerr
		}
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return seq, head, good, fmt.Errorf("%w: line %d is not an entry: %v", ErrBroken, seq+1, err)
		}
		want, err := e.hash()
		if err != nil {
			return seq, head, good, err
		}
		switch {
		case e.Hash != want:
			return seq, head, good, fmt.Errorf("%w: entry %d was edited (its hash does not match its contents)", ErrBroken, seq+1)
		case e.Prev != head:
			return seq, head, good, fmt.Errorf("%w: entry %d does not follow entry %d: entries were removed or reordered", ErrBroken, e.Seq, seq)
		case e.Seq != seq+1:
			return seq, head, good, fmt.Errorf("%w: entry %d has sequence number %d", ErrBroken, seq+1, e.Seq)
		}
		seq, head = e.Seq, e.Hash
		good += int64(len(line))
		if visit != nil {
			visit(e)
		}
	}
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
