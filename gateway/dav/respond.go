package dav

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"time"
)

// statusWriter remembers the status a handler answered with, for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// fail answers a failure of the server itself: the details go to the log,
// the client gets a short text.
func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	status, text := http.StatusInternalServerError, "the server failed; try again later"
	if errors.Is(err, syscall.ENOSPC) {
		// 503, not 507: 507 tells a client its quota is used up, which
		// siirto upload does not retry; a full disk is the server's, and
		// passes once the gateway has processed its inbox.
		status, text = http.StatusServiceUnavailable, "the server's disk is full; try again later"
		w.Header().Set("Retry-After", "60")
	}
	s.log.Error("dav: "+what, "err", err)
	http.Error(w, text, status)
}

// fileError answers an error from the file system as WebDAV expects.
func (s *Server) fileError(w http.ResponseWriter, what string, err error) {
	var de *deniedError
	switch {
	case errors.As(err, &de):
		http.Error(w, de.reason, http.StatusForbidden) // already reported
	case errors.Is(err, errExists):
		http.Error(w, "the destination exists", http.StatusPreconditionFailed)
	case errors.Is(err, errIsFolder):
		http.Error(w, "a folder has this name", http.StatusMethodNotAllowed)
	case errors.Is(err, os.ErrNotExist):
		http.Error(w, "the folder to write into does not exist", http.StatusConflict)
	default:
		s.fail(w, what, err)
	}
}

var (
	errExists   = errors.New("the destination exists")
	errIsFolder = errors.New("a folder has this name")
)

// etag is the entity tag of a file, computed as x/net/webdav computes it
// for PROPFIND and GET (modification time and size), so that the tags a
// client sees anywhere agree.
func etag(fi os.FileInfo) string {
	return fmt.Sprintf(`"%x%x"`, fi.ModTime().UnixNano(), fi.Size())
}

// etagOf is the entity tag of the file at a lock-store name, if it exists.
func (s *Server) etagOf(name string) (string, bool) {
	t, ok := splitName(name)
	if !ok {
		return "", false
	}
	fi, err := os.Stat(t.disk(s.cfg.Root))
	if err != nil || fi.IsDir() {
		return "", false
	}
	return etag(fi), true
}

// retryAfter formats a wait for the Retry-After header.
func retryAfter(d time.Duration) string {
	return fmt.Sprint(int(d/time.Second) + 1)
}
