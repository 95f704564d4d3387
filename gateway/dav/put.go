package dav

import (
	"errors"
	"fmt"
	"github.com/siirto/siirto/encrypt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// servePut answers PUT. The body goes to a hidden temporary file in the
// destination's folder; only when every announced byte has arrived is it
// synced and renamed onto the final name. A cut upload therefore leaves
// nothing under the final name, and nothing a client can see.
func (s *Server) servePut(w http.ResponseWriter, r *http.Request, rq *request, t target) {
	if len(t.rest) == 0 {
		http.Error(w, "a journal folder cannot be replaced by a file", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Content-Range") != "" {
		http.Error(w, "partial PUTs (Content-Range) are not supported", http.StatusBadRequest)
		return
	}
	if !s.writable(w, rq, t) {
		return
	}
	dst := t.disk(s.cfg.Root)
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		http.Error(w, "a folder has this name", http.StatusMethodNotAllowed)
		return
	}
	release, status, msg := s.confirm(r, rq, t.name())
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	defer release()

	tmp, n, err := s.receive(filepath.Dir(dst), r.Body, r.ContentLength)
	if err != nil {
		var short *shortError
		if errors.As(err, &short) {
			s.log.Info("dav: upload cut short", "user", rq.user, "addr", rq.addr, "path", rq.path, "received", short.got, "announced", short.want, "err", short.err)
			http.Error(w, short.Error(), http.StatusBadRequest)
			return
		}
		s.fail(w, "receiving an upload", err)
		return
	}
	replaced, fi, err := s.commit(rq, t, tmp, r.Header.Get("If-None-Match") != "*")
	if err != nil {
		os.Remove(tmp)
		s.fileError(w, "storing an upload", err)
		return
	}
	s.log.Debug("dav: stored", "user", rq.user, "path", rq.path, "size", n)
	w.Header().Set("ETag", etag(fi))
	if replaced {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// shortError is an upload that ended before its announced length.
type shortError struct {
	got, want int64
	err       error
}

func (e *shortError) Error() string {
	if e.want < 0 {
		return fmt.Sprintf("the upload was cut short after %d bytes", e.got)
	}
	return fmt.Sprintf("the upload was cut short: %d of %d bytes arrived", e.got, e.want)
}

func (e *shortError) Unwrap() error { return e.err }

// receive streams body into a new hidden file in dir and syncs it. With
// want >= 0 exactly want bytes must arrive. On failure nothing is left.
//
// A large body (a payload, or a chunk of one) is written as the client
// writes payloads, around the page cache and durable as it arrives
// (encrypt.NewPayloadFile): on the machine measured, buffered writes and
// the fsync after every chunk held each 16 MiB chunk of an upload up
// longer than sending it did. At most maxDirectReceives bodies at a time
// are written so; the others, and bodies of unknown length, go through
// the page cache.
func (s *Server) receive(dir string, body io.Reader, want int64) (string, int64, error) {
	f, err := os.CreateTemp(dir, hiddenPrefix+"put-*") // 0600
	if err != nil {
		return "", 0, fmt.Errorf("a temporary file: %w", err)
	}
	var out encrypt.PayloadFile
	if want >= directReceiveMin {
		var done func()
		out, done = s.payloadFile(f)
		defer done()
	} else {
		out = encrypt.NewBufferedFile(f)
	}
	// What failed decides whose fault it is: reading is the client's.
	src := &readErr{r: body}
	n, err := io.CopyBuffer(out, src, make([]byte, 256<<10))
	switch {
	case err != nil && src.err == nil: // the disk, not the client
	case err != nil:
		err = &shortError{got: n, want: want, err: err}
	case want >= 0 && n != want:
		err = &shortError{got: n, want: want, err: io.ErrUnexpectedEOF}
	}
	if err != nil {
		out.Abort()
	} else {
		err = out.Finish() // syncs
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", n, err
	}
	return f.Name(), n, nil
}

// payloadFile is the writer for a large file being received or
// assembled into f: around the page cache (encrypt.NewPayloadFile) while
// fewer than maxDirectReceives are, through it otherwise. done gives the
// slot back once the file is finished.
func (s *Server) payloadFile(f *os.File) (w encrypt.PayloadFile, done func()) {
	select {
	case s.direct <- struct{}{}:
		return encrypt.NewPayloadFile(f), func() { <-s.direct }
	default:
		return encrypt.NewBufferedFile(f), func() {}
	}
}

// Receiving around the page cache: from directReceiveMin bytes (below
// it, the writer's 12 MiB of buffers cost more than they save), and at
// most maxDirectReceives at a time, assemblies of chunks included.
const (
	directReceiveMin  = 4 << 20
	maxDirectReceives = 4
)

// readErr remembers the error of the reader it wraps, other than io.EOF.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// commit renames the finished temporary file tmp onto t. The policy is
// checked under the folder's lock, and the rename happens under it too,
// so that no check-then-rename race can replace a complete bundle. It
// reports whether an existing file was replaced, and the new file's
// information; Events.Stored hears of a final name.
func (s *Server) commit(rq *request, t target, tmp string, overwrite bool) (bool, os.FileInfo, error) {
	dst := t.disk(s.cfg.Root)
	unlock := s.lockFolders(t.folder, t.folder)
	if reason := s.refusal(rq, t); reason != "" {
		unlock()
		return false, nil, s.denied(rq, reason)
	}
	old, err := os.Lstat(dst)
	switch {
	case err == nil && old.IsDir():
		err = errIsFolder
	case err == nil && !overwrite:
		err = errExists
	case err == nil || errors.Is(err, os.ErrNotExist):
		err = os.Rename(tmp, dst)
	}
	replaced := old != nil
	var fi os.FileInfo
	if err == nil {
		fi, err = os.Stat(dst)
	}
	unlock()
	if err != nil {
		return false, nil, err
	}
	// Failing to make the rename durable is not fatal: the rename is done.
	_ = encrypt.SyncDir(filepath.Dir(dst))
	s.stored(rq, t, fi)
	return replaced, fi, nil
}

// stored reports a file that landed under a final name: at the top level,
// not hidden, and not empty (an empty file is a placeholder some clients
// make before writing the content; it is never part of a bundle).
func (s *Server) stored(rq *request, t target, fi os.FileInfo) {
	if !t.final() || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return
	}
	s.log.Info("dav: stored", "user", rq.user, "addr", rq.addr, "folder", t.folder, "name", t.top(), "size", fi.Size())
	s.events.Stored(rq.user, rq.addr, t.folder, t.top(), fi.Size())
}
