package dav

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/siirto/siirto/verify"
	"golang.org/x/net/webdav"
)

// Folder is a journal folder a user may access.
type Folder struct {
	Name   string // the journal folder's name, e.g. "THL_1234_14.02.00_2023"
	Closed bool   // closed journals are read-only: no new uploads
}

// Accounts is what the server needs from the account store.
type Accounts interface {
	// Authenticate returns nil when the password is right for user;
	// otherwise an error (any). It is called on every request, so it
	// should be quick (or cache its verdicts briefly).
	Authenticate(ctx context.Context, user, password string) error
	// Folders lists the journal folders user may see and write to.
	Folders(ctx context.Context, user string) ([]Folder, error)
}

// Events receives what the gateway audits and reacts to. Calls are
// synchronous; implementations must be quick.
type Events interface {
	// Stored: a file landed under its final name in a journal folder
	// (after PUT, MOVE, COPY or chunk assembly).
	Stored(user, addr, folder, name string, size int64)
	// LoginFailed: wrong user or password.
	LoginFailed(addr, user string)
	// Banned: addr is refused until the given time after too many failures.
	Banned(addr string, until time.Time)
	// Denied: an authenticated user tried something not allowed (another
	// journal, an overwrite, deleting a receipt...).
	Denied(user, addr, method, path, reason string)
}

// Config configures a Server. Root, Uploads and Accounts are required.
type Config struct {
	Root     string       // the inbox: Root/<journal-folder>/ holds each journal's files
	Uploads  string       // where Nextcloud chunked uploads are kept (created if missing)
	Accounts Accounts     // authenticates users and lists their folders
	Events   Events       // may be nil
	Logger   *slog.Logger // may be nil: no log

	MaxFailures int              // failed logins from one address before a ban (default 10)
	FailWindow  time.Duration    // window for counting failures (default 10 min)
	BanFor      time.Duration    // ban length (default 15 min)
	ChunkExpiry time.Duration    // chunked uploads untouched for this long are removed by Sweep (default 24h)
	Now         func() time.Time // the clock of bans and locks, for tests; nil = time.Now
}

// Server is the gateway's WebDAV endpoint. It is an http.Handler for the
// paths under /remote.php/dav/; it starts no goroutines of its own.
type Server struct {
	cfg    Config
	log    *slog.Logger
	events Events
	guard  *guard
	locks  *lockSystem
	props  *propStore
	// uploadLocks serves the read-only PROPFIND and GET of upload folders,
	// which take no locks but need a LockSystem.
	uploadLocks webdav.LockSystem
	// folderMu serialises the changes to top-level names in a journal
	// folder (striped by folder name, so memory stays fixed): the check
	// that a bundle is not complete and the rename that follows it happen
	// under one lock.
	folderMu [64]sync.Mutex
	// direct holds a token per upload being received around the page
	// cache, whose writer has 12 MiB of buffers: more at once go through
	// the page cache, so memory stays bounded (see receive).
	direct chan struct{}
}

const (
	filesPrefix   = "/remote.php/dav/files/"
	uploadsPrefix = "/remote.php/dav/uploads/"
	// hiddenPrefix starts the names of this package's temporary files
	// (and the gateway's): never listed, never reachable by a client.
	hiddenPrefix = ".siirto-"
)

// New checks cfg, fills in defaults and returns the handler serving
// /remote.php/dav/files/<user>/... and /remote.php/dav/uploads/<user>/...
func New(cfg Config) (*Server, error) {
	if cfg.Root == "" || cfg.Uploads == "" || cfg.Accounts == nil {
		return nil, errors.New("dav: Root, Uploads and Accounts are required")
	}
	st, err := os.Stat(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("dav: the inbox: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("dav: the inbox %s is not a folder", cfg.Root)
	}
	if err := os.MkdirAll(cfg.Uploads, 0o700); err != nil {
		return nil, fmt.Errorf("dav: the uploads folder: %w", err)
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 10
	}
	if cfg.FailWindow <= 0 {
		cfg.FailWindow = 10 * time.Minute
	}
	if cfg.BanFor <= 0 {
		cfg.BanFor = 15 * time.Minute
	}
	if cfg.ChunkExpiry <= 0 {
		cfg.ChunkExpiry = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, events: cfg.Events, direct: make(chan struct{}, maxDirectReceives)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.events == nil {
		s.events = noEvents{}
	}
	s.guard = newGuard(cfg.MaxFailures, cfg.FailWindow, cfg.BanFor)
	s.locks = newLockSystem(s.etagOf, cfg.Now)
	s.props = newPropStore()
	s.uploadLocks = webdav.NewMemLS()
	return s, nil
}

// request is what is known about one authenticated request.
type request struct {
	user, addr   string
	method, path string
	grants       map[string]Folder
}

// ServeHTTP authenticates the request, then serves the files or uploads
// tree of the authenticated user.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	rq := &request{addr: clientAddr(r.RemoteAddr), method: r.Method, path: r.URL.Path}
	if s.authenticate(sw, r, rq) {
		s.route(sw, r, rq)
	}
	s.log.Debug("dav: request", "method", r.Method, "path", r.URL.Path, "user", rq.user,
		"addr", rq.addr, "status", sw.code(), "duration", time.Since(start))
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, rq *request) {
	p := r.URL.Path
	var tree string
	switch {
	case strings.HasPrefix(p, filesPrefix):
		tree, p = "files", p[len(filesPrefix):]
	case strings.HasPrefix(p, uploadsPrefix):
		tree, p = "uploads", p[len(uploadsPrefix):]
	default:
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	segs := strings.Split(p, "/")
	if len(segs) > 1 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1] // a trailing slash
	}
	if segs[0] != rq.user {
		s.deny(w, rq, http.StatusForbidden, "these are another user's files")
		return
	}
	segs = segs[1:]
	for _, seg := range segs {
		if err := checkSegment(seg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	grants, err := s.grants(r.Context(), rq.user)
	if err != nil {
		s.fail(w, "listing the user's journal folders", err)
		return
	}
	rq.grants = grants
	if tree == "uploads" {
		s.serveUploads(w, r, rq, segs)
		return
	}
	s.serveFiles(w, r, rq, segs)
}

// grants lists the journal folders user may use, by name. Names that are
// not journal folder names are left out: they could never be one.
func (s *Server) grants(ctx context.Context, user string) (map[string]Folder, error) {
	list, err := s.cfg.Accounts.Folders(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("folders of %s: %w", user, err)
	}
	m := make(map[string]Folder, len(list))
	for _, f := range list {
		if _, err := verify.JournalFromFolder(f.Name); err != nil {
			s.log.Warn("dav: ignoring a granted folder that is not a journal folder", "user", user, "folder", f.Name)
			continue
		}
		m[f.Name] = f
	}
	return m, nil
}

// stripe is the index of a journal folder's mutex in folderMu.
func (s *Server) stripe(folder string) int {
	h := fnv.New32a()
	h.Write([]byte(folder))
	return int(h.Sum32() % uint32(len(s.folderMu)))
}

// lockFolders locks the mutexes of one or two journal folders, in index
// order so that two requests never wait for each other, and returns the
// unlock.
func (s *Server) lockFolders(a, b string) func() {
	ia, ib := s.stripe(a), s.stripe(b)
	if ia == ib {
		s.folderMu[ia].Lock()
		return s.folderMu[ia].Unlock
	}
	if ia > ib {
		ia, ib = ib, ia
	}
	s.folderMu[ia].Lock()
	s.folderMu[ib].Lock()
	return func() { s.folderMu[ib].Unlock(); s.folderMu[ia].Unlock() }
}

// folderDir is where a journal folder is on disk.
func (s *Server) folderDir(folder string) string {
	return filepath.Join(s.cfg.Root, folder)
}

type noEvents struct{}

func (noEvents) Stored(string, string, string, string, int64)  {}
func (noEvents) LoginFailed(string, string)                    {}
func (noEvents) Banned(string, time.Time)                      {}
func (noEvents) Denied(string, string, string, string, string) {}
