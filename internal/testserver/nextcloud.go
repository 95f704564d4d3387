package testserver

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/webdav"
)

// Nextcloud is an in-process stand-in for Nextcloud's WebDAV endpoints,
// strict about the documented chunked upload v2 protocol, which no real
// server here implements (Nextcloud itself needs PHP). Files live under
// /remote.php/dav/files/USER/ and uploads under /remote.php/dav/uploads/USER/:
//
//   - MKCOL uploads/USER/ID with a Destination header starts an upload;
//   - PUT uploads/USER/ID/N (N = 1..10000) adds a chunk; every chunk PUT
//     must carry the same Destination (and OC-Total-Length, if any), a
//     Content-Length (chunked transfer encoding is refused: behind PHP it
//     makes empty files), and all chunks but the last at least 5 MiB;
//   - MOVE uploads/USER/ID/.file assembles the chunks in numeric order
//     into the Destination, checks the total length, and removes the
//     upload folder; DELETE uploads/USER/ID aborts.
//
// It is a protocol model for the client's tests, not a second
// implementation of a server siirto ships.
type Nextcloud struct {
	URL      string // the files URL: http://127.0.0.1:PORT/remote.php/dav/files/alice/
	User     string
	Password string
	Root     string // the folder the files URL serves
	// MinChunk is the smallest chunk but the last (5 MiB, as Nextcloud).
	MinChunk int64

	mu      sync.Mutex
	chunks  int // chunk PUTs accepted
	uploads string
}

// ChunksSent is how many chunk PUTs the server accepted so far, for tests
// that check what a resumed upload sent again.
func (nc *Nextcloud) ChunksSent() int {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	return nc.chunks
}

// NextcloudServer starts the stand-in; it stops at the end of the test.
func NextcloudServer(t testing.TB) *Nextcloud {
	t.Helper()
	root := t.TempDir()
	nc := &Nextcloud{User: "alice", Password: "app-password", Root: filepath.Join(root, "files"), uploads: filepath.Join(root, "uploads"), MinChunk: 5 << 20}
	for _, d := range []string{nc.Root, nc.uploads} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	filesPrefix := "/remote.php/dav/files/" + nc.User
	uploadsPrefix := "/remote.php/dav/uploads/" + nc.User
	files := &webdav.Handler{Prefix: filesPrefix, FileSystem: webdav.Dir(nc.Root), LockSystem: webdav.NewMemLS()}
	uploads := &webdav.Handler{Prefix: uploadsPrefix, FileSystem: webdav.Dir(nc.uploads), LockSystem: webdav.NewMemLS()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != nc.User || p != nc.Password {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch {
		case strings.HasPrefix(r.URL.Path, filesPrefix+"/") || r.URL.Path == filesPrefix:
			files.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, uploadsPrefix+"/"):
			nc.upload(w, r, strings.TrimPrefix(r.URL.Path, uploadsPrefix+"/"), uploads, filesPrefix)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	nc.URL = srv.URL + filesPrefix + "/"
	return nc
}

func (nc *Nextcloud) upload(w http.ResponseWriter, r *http.Request, rel string, dav *webdav.Handler, filesPrefix string) {
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	id := parts[0]
	dir := filepath.Join(nc.uploads, id)
	switch {
	case r.Method == "MKCOL" && len(parts) == 1:
		if r.Header.Get("Destination") == "" {
			http.Error(w, "MKCOL of an upload needs a Destination", http.StatusBadRequest)
			return
		}
		dav.ServeHTTP(w, r)
	case r.Method == http.MethodPut && len(parts) == 2:
		n, err := strconv.Atoi(parts[1])
		if err != nil || n < 1 || n > 10000 {
			http.Error(w, "chunk names are 1 to 10000", http.StatusBadRequest)
			return
		}
		if r.ContentLength < 0 || len(r.TransferEncoding) > 0 {
			http.Error(w, "a chunk needs a Content-Length", http.StatusLengthRequired)
			return
		}
		// OC-Total-Length on chunks is optional (Nextcloud checks the quota
		// with it early); a streamed upload of unknown length omits it and
		// gives it on the final MOVE, where it is required.
		if r.Header.Get("Destination") == "" {
			http.Error(w, "a chunk needs a Destination", http.StatusBadRequest)
			return
		}
		if err := nc.sameUpload(dir, r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		dav.ServeHTTP(sw, r)
		if sw.status >= 200 && sw.status < 300 { // an aborted chunk does not count
			nc.mu.Lock()
			nc.chunks++
			nc.mu.Unlock()
		}
	case r.Method == "MOVE" && len(parts) == 2 && parts[1] == ".file":
		nc.assemble(w, r, dir, filesPrefix)
	case r.Method == "PROPFIND" || r.Method == http.MethodDelete || r.Method == http.MethodGet:
		dav.ServeHTTP(w, r)
	default:
		http.Error(w, "not part of chunked upload v2", http.StatusMethodNotAllowed)
	}
}

// sameUpload records an upload's Destination and total on its first chunk
// and refuses chunks that disagree.
func (nc *Nextcloud) sameUpload(dir string, r *http.Request) error {
	meta := filepath.Join(dir, ".meta")
	want := r.Header.Get("Destination") + "\n" + r.Header.Get("OC-Total-Length")
	got, err := os.ReadFile(meta)
	if os.IsNotExist(err) {
		return os.WriteFile(meta, []byte(want), 0o600)
	}
	if err != nil {
		return err
	}
	if string(got) != want {
		return fmt.Errorf("chunk headers differ from the upload's: %q, then %q", got, want)
	}
	return nil
}

func (nc *Nextcloud) assemble(w http.ResponseWriter, r *http.Request, dir, filesPrefix string) {
	dest := r.Header.Get("Destination")
	total, err := strconv.ParseInt(r.Header.Get("OC-Total-Length"), 10, 64)
	if dest == "" || err != nil {
		http.Error(w, "MOVE .file needs Destination and OC-Total-Length", http.StatusBadRequest)
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		http.Error(w, "no such upload", http.StatusNotFound)
		return
	}
	var nums []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	var sum int64
	for i, n := range nums {
		st, err := os.Stat(filepath.Join(dir, e5(n)))
		if err != nil {
			st, err = os.Stat(filepath.Join(dir, strconv.Itoa(n)))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if i < len(nums)-1 && st.Size() < nc.MinChunk {
			http.Error(w, fmt.Sprintf("chunk %d is %d bytes; all but the last need %d", n, st.Size(), nc.MinChunk), http.StatusBadRequest)
			return
		}
		sum += st.Size()
	}
	if sum != total {
		http.Error(w, fmt.Sprintf("chunks hold %d bytes, OC-Total-Length says %d", sum, total), http.StatusBadRequest)
		return
	}
	u, err := r.URL.Parse(dest)
	if err != nil || !strings.HasPrefix(u.Path, filesPrefix+"/") {
		http.Error(w, "bad Destination", http.StatusBadRequest)
		return
	}
	target := filepath.Join(nc.Root, filepath.FromSlash(path.Clean(strings.TrimPrefix(u.Path, filesPrefix))))
	if _, err := os.Stat(filepath.Dir(target)); err != nil {
		http.Error(w, "the destination folder does not exist", http.StatusConflict)
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".assembling-")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, n := range nums {
		f, err := os.Open(filepath.Join(dir, e5(n)))
		if err != nil {
			f, err = os.Open(filepath.Join(dir, strconv.Itoa(n)))
		}
		if err == nil {
			_, err = io.Copy(tmp, f)
			f.Close()
		}
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	tmp.Close()
	_, existed := os.Stat(target)
	if err := os.Rename(tmp.Name(), target); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	os.RemoveAll(dir)
	if existed == nil {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
}

func e5(n int) string { return fmt.Sprintf("%05d", n) }

// Uploads lists the upload folders in progress, for tests.
func (nc *Nextcloud) Uploads() []string {
	entries, _ := os.ReadDir(nc.uploads)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
