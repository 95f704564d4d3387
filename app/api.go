package app

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/siirto/siirto/verify"
)

// Modes of a job.
const (
	modeSend    = "send"    // pack, encrypt and upload
	modeEncrypt = "encrypt" // pack and encrypt into a folder
)

// session is a connected login. Its password lives only in memory.
type session struct {
	login   Login
	folders []Folder
}

// apiError is an error as the page sees it: the code, whose title and
// advice the page takes from the catalogue, and the English detail.
type apiError struct {
	Code   verify.Code `json:"code"`
	Detail string      `json:"detail,omitempty"`
}

func errorJSON(err error) apiError {
	e := verify.AsError(err)
	return apiError{Code: e.Code, Detail: e.Detail}
}

func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.page)
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /api/catalog", s.catalogHandler)
	mux.HandleFunc("GET /api/state", s.stateHandler)
	mux.HandleFunc("POST /api/ping", s.ping)
	mux.HandleFunc("POST /api/connect", s.connect)
	mux.HandleFunc("GET /api/name", s.checkName)
	mux.HandleFunc("POST /api/jobs", s.newJob)
	mux.HandleFunc("PUT /api/jobs/{id}/files", s.files)
	mux.HandleFunc("GET /api/jobs/{id}", s.getJob)
	mux.HandleFunc("POST /api/jobs/{id}/cancel", s.cancelJob)
	mux.HandleFunc("POST /api/jobs/{id}/resume", s.resumeJob)
	mux.HandleFunc("POST /api/jobs/{id}/clean", s.cleanJob)
}

func (s *Server) baseContext() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx != nil {
		return s.ctx
	}
	return context.Background()
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	data, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(data)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// fail answers with the error's code; bad input is the page's to fix.
func fail(w http.ResponseWriter, err error) {
	status := http.StatusUnprocessableEntity
	switch verify.Lookup(verify.CodeOf(err)).Class {
	case verify.ClassRemote:
		status = http.StatusBadGateway
	case verify.ClassInternal:
		status = http.StatusInternalServerError
	}
	reply(w, status, map[string]apiError{"error": errorJSON(err)})
}

// decode reads a small JSON body.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return verify.Errorf(verify.CodeUsage, "the request is not what the app expects: %v", err)
	}
	return nil
}

func (s *Server) catalogHandler(w http.ResponseWriter, r *http.Request) {
	lang := pickLang(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"), s.cfg.Lang)
	reply(w, http.StatusOK, map[string]any{"lang": lang, "langs": langs, "messages": catalog(lang)})
}

func (s *Server) stateHandler(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	jobs := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	list := make([]jobJSON, 0, len(jobs))
	for _, j := range jobs {
		list = append(list, j.json())
	}
	targets := s.cfg.Targets
	if targets == nil {
		targets = []Target{}
	}
	// The page calls in three times per grace period, so one late
	// heartbeat does not end the app.
	reply(w, http.StatusOK, map[string]any{"targets": targets, "out_dir": s.cfg.OutDir, "jobs": list,
		"ping_ms": s.cfg.WindowGrace.Milliseconds() / 3})
}

func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.lastPing = time.Now()
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Target   string `json:"target"`
		URL      string `json:"url"`
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if err := decode(r, &req); err != nil {
		fail(w, err)
		return
	}
	l := Login(req)
	folders, err := s.cfg.Transport.Connect(r.Context(), l)
	if err != nil {
		fail(w, err)
		return
	}
	id := randomID()
	s.mu.Lock()
	s.sessions[id] = &session{login: l, folders: folders}
	s.mu.Unlock()
	reply(w, http.StatusOK, map[string]any{"session": id, "folders": folders})
}

func (s *Server) checkName(w http.ResponseWriter, r *http.Request) {
	if err := verify.CheckName(r.URL.Query().Get("name")); err != nil {
		reply(w, http.StatusOK, map[string]any{"ok": false, "error": errorJSON(err)})
		return
	}
	reply(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) newJob(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mode    string     `json:"mode"`
		Session string     `json:"session"`
		Folder  string     `json:"folder"`
		Journal string     `json:"journal"`
		OutDir  string     `json:"out_dir"`
		Name    string     `json:"name"`
		Files   []planFile `json:"files"`
	}
	if err := decode(r, &req); err != nil {
		fail(w, err)
		return
	}
	if err := verify.CheckName(req.Name); err != nil {
		fail(w, err)
		return
	}
	files, skipped, total, err := plan(req.Files)
	if err != nil {
		fail(w, err)
		return
	}
	j := &job{id: randomID(), mode: req.Mode, name: req.Name, files: files, total: total, state: stateReady}
	switch req.Mode {
	case modeSend:
		s.mu.Lock()
		sess := s.sessions[req.Session]
		s.mu.Unlock()
		if sess == nil {
			fail(w, verify.Errorf(verify.CodeUsage, "connect to the transfer service first"))
			return
		}
		for _, f := range sess.folders {
			if f.URL == req.Folder {
				j.folder = f
			}
		}
		if j.folder.URL == "" {
			fail(w, verify.Errorf(verify.CodeFolderMissing, "the folder %s is not one this connection reaches", req.Folder))
			return
		}
		j.login = sess.login
		if err := os.MkdirAll(s.cfg.SpoolDir, 0o700); err != nil {
			fail(w, err)
			return
		}
		if j.dir, err = os.MkdirTemp(s.cfg.SpoolDir, j.name+"-"); err != nil {
			fail(w, err)
			return
		}
	case modeEncrypt:
		if err := verify.CheckJournal(req.Journal); err != nil {
			fail(w, err)
			return
		}
		j.folder = Folder{Journal: req.Journal}
		if req.OutDir == "" || !filepath.IsAbs(req.OutDir) {
			fail(w, verify.Errorf(verify.CodeUsage, "give the full path of the folder for the encrypted files"))
			return
		}
		if st, err := os.Stat(req.OutDir); err != nil || !st.IsDir() {
			fail(w, verify.Errorf(verify.CodeIO, "the folder %s does not exist", req.OutDir))
			return
		}
		j.dir = req.OutDir
	default:
		fail(w, verify.Errorf(verify.CodeUsage, "unknown mode %q", req.Mode))
		return
	}
	s.mu.Lock()
	s.jobs[j.id] = j
	s.mu.Unlock()
	out := j.json()
	out.Skipped = skipped
	reply(w, http.StatusOK, out)
}

func (s *Server) job(w http.ResponseWriter, r *http.Request) *job {
	s.mu.Lock()
	j := s.jobs[r.PathValue("id")]
	s.mu.Unlock()
	if j == nil {
		fail(w, verify.Errorf(verify.CodeUsage, "no such job"))
	}
	return j
}

// files takes the stream of the job's files, one after the other, and
// answers when the bundle is sent (or written) or has failed.
func (s *Server) files(w http.ResponseWriter, r *http.Request) {
	j := s.job(w, r)
	if j == nil {
		return
	}
	ctx, cancel, ok := s.begin(j, func() bool { return j.state == stateReady }, stateSending)
	if !ok {
		fail(w, verify.Errorf(verify.CodeUsage, "this job has had its files already"))
		return
	}
	s.run(ctx, cancel, j, r.Body)
	reply(w, http.StatusOK, j.json())
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	if j := s.job(w, r); j != nil {
		reply(w, http.StatusOK, j.json())
	}
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) {
	j := s.job(w, r)
	if j == nil {
		return
	}
	j.mu.Lock()
	if j.cancel != nil {
		j.cancel()
	}
	if j.state == stateReady || j.state == stateFailed {
		j.state, j.resumable = stateCancelled, false
	}
	j.mu.Unlock()
	reply(w, http.StatusOK, j.json())
}

func (s *Server) resumeJob(w http.ResponseWriter, r *http.Request) {
	j := s.job(w, r)
	if j == nil {
		return
	}
	ctx, cancel, ok := s.begin(j, func() bool { return j.state == stateFailed && j.resumable }, stateResuming)
	if !ok {
		fail(w, verify.Errorf(verify.CodeUsage, "there is nothing to resume"))
		return
	}
	go s.resume(ctx, cancel, j, s.cfg.Logger.With("job", j.id, "bundle", j.name))
	reply(w, http.StatusOK, j.json())
}

// begin moves j to state to if allowed says it may (called with j.mu
// held), with a new context for the work, all under one lock: a Cancel
// that comes right after finds that context to cancel.
func (s *Server) begin(j *job, allowed func() bool, to string) (context.Context, context.CancelFunc, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !allowed() {
		return nil, nil, false
	}
	ctx, cancel := context.WithCancel(s.baseContext())
	j.state, j.err, j.cancel = to, nil, cancel
	return ctx, cancel, true
}

func (s *Server) cleanJob(w http.ResponseWriter, r *http.Request) {
	j := s.job(w, r)
	if j == nil {
		return
	}
	if _, err := j.clean(); err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, j.json())
}
