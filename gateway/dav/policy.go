package dav

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/siirto/siirto/verify"
)

// target is a path in the files tree: a journal folder and the path
// below it (empty for the folder itself).
type target struct {
	folder string
	rest   []string
}

// name is the target's path as the lock and property stores know it,
// "/<folder>/<rest>", the same for every user.
func (t target) name() string {
	return "/" + path.Join(append([]string{t.folder}, t.rest...)...)
}

// disk is the target's path on disk.
func (t target) disk(root string) string {
	return filepath.Join(append([]string{root, t.folder}, t.rest...)...)
}

// top is the target's name when it lies at the top level of its journal
// folder, where the bundle rules apply, and "" otherwise.
func (t target) top() string {
	if len(t.rest) == 1 {
		return t.rest[0]
	}
	return ""
}

// final reports whether the target is a file name the gateway looks at:
// at the top level, and not hidden.
func (t target) final() bool {
	return t.top() != "" && !strings.HasPrefix(t.top(), ".")
}

// checkSegment refuses path elements that are unsafe on disk or that
// Windows clients could misread: empty, "." and "..", control characters,
// backslashes, and invalid UTF-8.
func checkSegment(seg string) error {
	if seg == "" || seg == "." || seg == ".." {
		return fmt.Errorf("the path has an empty, %q or %q element", ".", "..")
	}
	if !utf8.ValidString(seg) {
		return errors.New("the path is not valid UTF-8")
	}
	for _, r := range seg {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("the path element %q has a control character or a backslash", seg)
		}
	}
	return nil
}

// hidden reports whether a path element is one of the gateway's own
// temporary names, which clients never see.
func hidden(seg string) bool { return strings.HasPrefix(seg, hiddenPrefix) }

// receiptSuffix ends every receipt's name.
var receiptSuffix = verify.ReceiptName("")

// protected reports whether a top-level name is written only by the
// gateway: the journal number, the receipt key and receipts. Case is
// ignored, so that no look-alike can be planted either.
func protected(name string) bool {
	return strings.EqualFold(name, verify.JournalFile) ||
		strings.EqualFold(name, verify.ReceiptKeyFile) ||
		len(name) >= len(receiptSuffix) && strings.EqualFold(name[len(name)-len(receiptSuffix):], receiptSuffix)
}

// frozen reports whether a top-level name is part of a complete bundle:
// NAME.json or NAME.c4gh when the manifest NAME.json exists and is not
// empty. A complete bundle is never changed, replaced or deleted by
// uploaders. An empty manifest does not count: clients such as Windows
// Explorer and macOS Finder create an empty file first and write its
// content with a second PUT.
func (s *Server) frozen(folder, name string) bool {
	base, ok := strings.CutSuffix(name, ".json")
	if !ok {
		if base, ok = strings.CutSuffix(name, ".c4gh"); !ok {
			return false
		}
	}
	st, err := os.Lstat(filepath.Join(s.folderDir(folder), base+".json"))
	return err == nil && st.Mode().IsRegular() && st.Size() > 0
}

// refusal says why rq may not create, change or remove t, or "" when it
// may. The caller has checked that t's folder is granted to rq.
func (s *Server) refusal(rq *request, t target) string {
	if rq.grants[t.folder].Closed {
		return "the journal folder " + t.folder + " is closed: it takes no new files and nothing in it can be changed"
	}
	if len(t.rest) == 0 {
		return "the journal folder itself cannot be changed, only the files in it"
	}
	name := t.top()
	switch {
	case name == "":
	case protected(name):
		return name + " is written only by the gateway"
	case s.frozen(t.folder, name):
		base := strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".c4gh")
		return "the bundle " + base + " is complete: it cannot be replaced or deleted (send it under another name)"
	}
	return ""
}

// deny answers a refused request and reports it.
func (s *Server) deny(w http.ResponseWriter, rq *request, status int, reason string) {
	s.denied(rq, reason)
	http.Error(w, reason, status)
}

// denied reports a refusal to Events and the log, and returns it as an
// error for code that refuses below the HTTP layer.
func (s *Server) denied(rq *request, reason string) error {
	s.events.Denied(rq.user, rq.addr, rq.method, rq.path, reason)
	s.log.Info("dav: denied", "user", rq.user, "addr", rq.addr, "method", rq.method, "path", rq.path, "reason", reason)
	return &deniedError{reason}
}

// deniedError is a refusal by policy; it is os.ErrPermission too, so that
// x/net/webdav answers 403 where it can.
type deniedError struct{ reason string }

func (e *deniedError) Error() string { return e.reason }
func (e *deniedError) Is(target error) bool {
	return target == os.ErrPermission
}

// resolve maps the path elements after /remote.php/dav/files/<user>/ to a
// target in a granted folder. A folder that is not granted is reported
// as not found, so that other journals are not even revealed to exist.
func (s *Server) resolve(rq *request, segs []string) (target, int, string) {
	if len(segs) == 0 {
		return target{}, http.StatusForbidden, "the top level lists your journal folders and cannot be changed"
	}
	if _, ok := rq.grants[segs[0]]; !ok {
		// Only another journal that exists is worth reporting; clients
		// probe many names (desktop.ini...) at the top level.
		if st, err := os.Stat(s.folderDir(segs[0])); err == nil && st.IsDir() {
			s.denied(rq, "the journal folder "+segs[0]+" is not one of the user's")
		}
		return target{}, http.StatusNotFound, "not found"
	}
	for _, seg := range segs {
		if hidden(seg) {
			return target{}, http.StatusNotFound, "not found"
		}
	}
	if st, err := os.Stat(s.folderDir(segs[0])); err != nil || !st.IsDir() {
		return target{}, http.StatusNotFound, "not found"
	}
	return target{folder: segs[0], rest: segs[1:]}, 0, ""
}

// destination resolves a COPY or MOVE Destination header, which must name
// a path in the same user's files tree on this server.
func (s *Server) destination(r *http.Request, rq *request) (target, int, string) {
	hdr := r.Header.Get("Destination")
	if hdr == "" {
		return target{}, http.StatusBadRequest, "a Destination header is needed"
	}
	u, err := url.Parse(hdr)
	if err != nil {
		return target{}, http.StatusBadRequest, "the Destination header is not a URL"
	}
	if u.Host != "" && u.Host != r.Host {
		return target{}, http.StatusBadGateway, "the Destination is on another server"
	}
	own := filesPrefix + rq.user + "/"
	if !strings.HasPrefix(u.Path, own) {
		s.denied(rq, "the Destination "+u.Path+" is outside the user's files")
		return target{}, http.StatusForbidden, "the Destination must be in your own files"
	}
	segs := strings.Split(strings.TrimSuffix(u.Path[len(own):], "/"), "/")
	if len(segs) == 1 && segs[0] == "" {
		segs = nil
	}
	for _, seg := range segs {
		if err := checkSegment(seg); err != nil {
			return target{}, http.StatusBadRequest, "the Destination: " + err.Error()
		}
	}
	if len(segs) <= 1 {
		s.denied(rq, "the Destination "+u.Path+" is at the top level")
		return target{}, http.StatusForbidden, "the top level lists your journal folders and cannot be changed"
	}
	t, status, msg := s.resolve(rq, segs)
	if status == http.StatusNotFound {
		return t, http.StatusConflict, "the Destination's folder does not exist"
	}
	return t, status, msg
}
