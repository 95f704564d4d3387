package dav

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"golang.org/x/net/webdav"
)

// serveFiles serves /remote.php/dav/files/<user>/<segs...>: the policy
// checks come first, with plain-language refusals; then PUT, LOCK and
// UNLOCK are served here and the rest by x/net/webdav over davFS.
func (s *Server) serveFiles(w http.ResponseWriter, r *http.Request, rq *request, segs []string) {
	if len(segs) == 0 {
		s.serveRoot(w, r, rq)
		return
	}
	if len(segs) == 1 && changes(r.Method) {
		// Journal folders are made by the gateway, never through WebDAV;
		// the answer is the same for every name, granted or not.
		s.deny(w, rq, http.StatusForbidden, "the top level lists your journal folders and cannot be changed")
		return
	}
	t, status, msg := s.resolve(rq, segs)
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	case "PROPFIND":
		if !s.checkXML(w, r) {
			return
		}
	case http.MethodPut:
		s.servePut(w, r, rq, t)
		return
	case "LOCK":
		s.serveLock(w, r, rq, t)
		return
	case "UNLOCK":
		s.serveUnlock(w, r, t)
		return
	case "MKCOL":
		if !s.allowed(w, rq, t) {
			return
		}
	case "PROPPATCH":
		if !s.allowed(w, rq, t) || !s.checkXML(w, r) {
			return
		}
	case http.MethodDelete:
		if !s.allowed(w, rq, t) {
			return
		}
	case "COPY", "MOVE":
		if r.Method == "MOVE" && !s.allowed(w, rq, t) {
			return
		}
		d, status, msg := s.destination(r, rq)
		if status != 0 {
			http.Error(w, msg, status)
			return
		}
		if isAncestor(t.name(), d.name()) {
			// x/net/webdav would copy a folder into itself until the
			// paths grow too long.
			http.Error(w, "a folder cannot be copied or moved into itself", http.StatusForbidden)
			return
		}
		if !s.allowed(w, rq, d) {
			return
		}
	default:
		w.Header().Set("Allow", "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.davHandler(rq).ServeHTTP(w, r)
}

// changes reports whether a method changes what it names (or, for COPY,
// its destination).
func changes(method string) bool {
	switch method {
	case http.MethodPut, http.MethodDelete, "MKCOL", "COPY", "MOVE", "PROPPATCH", "LOCK":
		return true
	}
	return false
}

// allowed answers 403 and returns false when the policy refuses to let
// rq change t.
func (s *Server) allowed(w http.ResponseWriter, rq *request, t target) bool {
	if reason := s.refusal(rq, t); reason != "" {
		s.deny(w, rq, http.StatusForbidden, reason)
		return false
	}
	return true
}

// writable is allowed for a request that writes a file at t (a PUT, a
// chunked upload's destination), and also answers 409 and returns false
// when the folder to write into does not exist.
func (s *Server) writable(w http.ResponseWriter, rq *request, t target) bool {
	if !s.allowed(w, rq, t) {
		return false
	}
	if st, err := os.Stat(filepath.Dir(t.disk(s.cfg.Root))); err != nil || !st.IsDir() {
		http.Error(w, "the folder to write into does not exist", http.StatusConflict)
		return false
	}
	return true
}

// serveRoot serves /remote.php/dav/files/<user>/, the read-only list of
// the user's journal folders.
func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request, rq *request) {
	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("Allow", "OPTIONS, PROPFIND")
		w.Header().Set("DAV", "1, 2")
		w.Header().Set("MS-Author-Via", "DAV")
	case "PROPFIND":
		if s.checkXML(w, r) {
			s.davHandler(rq).ServeHTTP(w, r)
		}
	default:
		if changes(r.Method) {
			s.deny(w, rq, http.StatusForbidden, "the top level lists your journal folders and cannot be changed")
			return
		}
		w.Header().Set("Allow", "OPTIONS, PROPFIND")
		http.Error(w, "the top level is a folder: list it with PROPFIND", http.StatusMethodNotAllowed)
	}
}

// davHandler is x/net/webdav over rq's view of the files tree.
func (s *Server) davHandler(rq *request) *webdav.Handler {
	return &webdav.Handler{
		Prefix:     filesPrefix + rq.user,
		FileSystem: &davFS{s: s, rq: rq},
		LockSystem: s.locks,
		Logger: func(r *http.Request, err error) {
			if err != nil {
				s.log.Debug("dav: webdav", "method", r.Method, "path", r.URL.Path, "err", err)
			}
		},
	}
}

// checkXML reads a PROPFIND or PROPPATCH body (bounded), refuses an empty
// namespace prefix declaration (xmlns:p=""), which XML Namespaces 1.0
// forbids and Go's XML decoder would accept, and puts the body back.
func (s *Server) checkXML(w http.ResponseWriter, r *http.Request) bool {
	body, ok := readXMLBody(w, r)
	if !ok {
		return false
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.RawToken()
		if err != nil {
			break // x/net/webdav reports malformed XML itself
		}
		if start, ok := tok.(xml.StartElement); ok {
			for _, a := range start.Attr {
				if a.Name.Space == "xmlns" && a.Value == "" {
					http.Error(w, "an XML namespace prefix is declared empty", http.StatusBadRequest)
					return false
				}
			}
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return true
}

// maxXMLBody bounds the XML bodies of PROPFIND, PROPPATCH and LOCK.
const maxXMLBody = 1 << 20

// readXMLBody reads a request's XML body, at most maxXMLBody bytes; it
// answers 400 or 413 and returns false when it cannot.
func readXMLBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxXMLBody+1))
	if err != nil {
		http.Error(w, "reading the request failed", http.StatusBadRequest)
		return nil, false
	}
	if len(body) > maxXMLBody {
		http.Error(w, "the request body is too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return body, true
}
