package app

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// Job states, as the page sees them.
const (
	stateReady     = "ready"     // planned, waiting for the files
	stateSending   = "sending"   // packing, encrypting and uploading
	stateResuming  = "resuming"  // uploading the kept encrypted copy
	stateWaiting   = "waiting"   // sent; waiting for the receipt
	stateAccepted  = "accepted"  // the authority's receipt says accepted
	stateRejected  = "rejected"  // the receipt says rejected
	stateWritten   = "written"   // "encrypt only": the bundle is in the folder
	stateFailed    = "failed"    // see err; resumable says whether Resume may help
	stateCancelled = "cancelled" // the user cancelled
)

// planFile is one file the page is about to stream.
type planFile struct {
	Path     string `json:"path"`
	Size     int64  `json:"size"`
	Modified int64  `json:"modified"` // Unix milliseconds, as the browser gives them
}

// job is one bundle on its way: planned, streamed, sent, answered.
type job struct {
	id, mode, name string
	login          Login
	folder         Folder
	dir            string // the encrypted copy (send, made for the job) or the output (encrypt only)
	files          []planFile
	total          int64
	read, sent     atomic.Int64

	mu        sync.Mutex
	state     string
	err       error
	resumable bool
	manifest  []byte            // as written, for the receipt to answer
	payload   *encrypt.FileSums // the manifest's, parsed once for the page's polls
	receipt   *verify.Receipt
	started   time.Time
	finished  time.Time
	cancel    context.CancelFunc
	created   []string
	cleaned   []string
}

func (j *job) busy() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state == stateSending || j.state == stateResuming
}

func (j *job) set(state string, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.state, j.err = state, err
	switch {
	case state == stateSending || state == stateResuming:
		j.finished = time.Time{}
	case j.finished.IsZero():
		j.finished = time.Now()
	}
}

// jobJSON is a job as the page sees it.
type jobJSON struct {
	ID        string            `json:"id"`
	Mode      string            `json:"mode"`
	Name      string            `json:"name"`
	Journal   string            `json:"journal"`
	Folder    string            `json:"folder,omitempty"`
	State     string            `json:"state"`
	Total     int64             `json:"total"`
	Read      int64             `json:"read"`
	Sent      int64             `json:"sent"`
	Seconds   float64           `json:"seconds"`
	Error     *apiError         `json:"error,omitempty"`
	Resumable bool              `json:"resumable,omitempty"`
	Receipt   *receiptJSON      `json:"receipt,omitempty"`
	Created   []string          `json:"created,omitempty"`
	Cleaned   []string          `json:"cleaned,omitempty"`
	Payload   *encrypt.FileSums `json:"payload,omitempty"`
	Skipped   []string          `json:"skipped,omitempty"`
	Files     int               `json:"files"`
}

type receiptJSON struct {
	Status string      `json:"status"`
	Code   verify.Code `json:"code,omitempty"`
	Time   time.Time   `json:"time"`
	Size   int64       `json:"size"`
	SHA256 string      `json:"sha256"`
}

func (j *job) json() jobJSON {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := jobJSON{ID: j.id, Mode: j.mode, Name: j.name, Journal: j.folder.Journal, Folder: j.folder.URL,
		State: j.state, Total: j.total, Read: j.read.Load(), Sent: j.sent.Load(), Resumable: j.resumable,
		Created: j.created, Cleaned: j.cleaned, Files: len(j.files)}
	if !j.started.IsZero() {
		end := j.finished
		if end.IsZero() {
			end = time.Now()
		}
		out.Seconds = end.Sub(j.started).Seconds()
	}
	if j.err != nil {
		e := errorJSON(j.err)
		out.Error = &e
	}
	out.Payload = j.payload
	if rc := j.receipt; rc != nil {
		out.Receipt = &receiptJSON{Status: rc.Status, Code: rc.Code, Time: rc.Time, Size: rc.Payload.Size, SHA256: rc.Payload.SHA256}
	}
	return out
}

// plan checks the page's list of files before a byte is streamed, by
// siirto encrypt's rules (encrypt.Names). Desktop clutter, also inside a
// clutter folder, is skipped: the page leaves it out of the stream.
func plan(files []planFile) (keep []planFile, skipped []string, total int64, err error) {
	if len(files) == 0 {
		return nil, nil, 0, verify.Errorf(verify.CodeUsage, "choose at least one file")
	}
	var names encrypt.Names
	for _, f := range files {
		if encrypt.IsJunkPath(f.Path) {
			skipped = append(skipped, f.Path)
			continue
		}
		if err := names.Add(f.Path, f.Path); err != nil {
			return nil, nil, 0, err
		}
		if f.Size < 0 {
			return nil, nil, 0, verify.Errorf(verify.CodeUsage, "%s has a negative size", f.Path)
		}
		keep = append(keep, f)
		total += f.Size
	}
	if len(keep) == 0 {
		return nil, nil, 0, verify.Errorf(verify.CodeUsage, "only desktop clutter was chosen (%s)", strings.Join(skipped, ", "))
	}
	return keep, skipped, total, nil
}

// sources turns the planned files into pack sources that read, in order,
// from one stream: the page's files one after the other, as the plan
// gave their sizes. Pack opens each after it has read the one before.
func sources(files []planFile, body io.Reader) []encrypt.Source {
	out := make([]encrypt.Source, len(files))
	for i, f := range files {
		out[i] = encrypt.Source{Path: f.Path, Name: f.Path,
			Info: streamedInfo{name: path.Base(f.Path), size: f.Size, mod: time.UnixMilli(f.Modified)},
			Open: func() (io.ReadCloser, error) { return io.NopCloser(io.LimitReader(body, f.Size)), nil }}
	}
	return out
}

// streamedInfo describes a file that arrives as bytes from the browser.
type streamedInfo struct {
	name string
	size int64
	mod  time.Time
}

func (s streamedInfo) Name() string       { return s.name }
func (s streamedInfo) Size() int64        { return s.size }
func (s streamedInfo) Mode() fs.FileMode  { return 0o600 }
func (s streamedInfo) ModTime() time.Time { return s.mod }
func (s streamedInfo) IsDir() bool        { return false }
func (s streamedInfo) Sys() any           { return nil }

// run packs, encrypts and (in send mode) uploads the streamed files, in
// ctx (see begin). It
// returns when the stream is used up and the bundle is sent or written;
// the receipt is awaited in the background.
func (s *Server) run(ctx context.Context, cancel context.CancelFunc, j *job, body io.Reader) {
	j.mu.Lock()
	j.started = time.Now()
	j.mu.Unlock()
	b := Bundle{Name: j.name, Journal: j.folder.Journal, Dir: j.dir, Files: sources(j.files, body),
		Read: func(n int64) { j.read.Store(n) }, Sent: func(n int64) { j.sent.Store(n) }}
	log := s.cfg.Logger.With("job", j.id, "bundle", j.name, "journal", j.folder.Journal)
	log.Info("sending", "mode", j.mode, "files", len(j.files), "bytes", j.total)
	if j.mode == modeEncrypt {
		m, err := s.cfg.Transport.Encrypt(ctx, b)
		cancel()
		j.mu.Lock()
		j.setManifest(m)
		if err == nil {
			j.created = []string{filepath.Join(j.dir, encrypt.PayloadName(j.name)), filepath.Join(j.dir, encrypt.ManifestName(j.name))}
		}
		j.mu.Unlock()
		s.finish(j, stateWritten, err, log)
		return
	}
	m, err := s.cfg.Transport.Send(ctx, j.login, j.folder, b)
	j.mu.Lock()
	j.setManifest(m)
	if m != nil {
		j.created = []string{j.dir}
	}
	j.mu.Unlock()
	if err != nil && m != nil && ctx.Err() == nil {
		// The bundle is encrypted and kept; only the upload broke.
		log.Warn("upload broke; resuming from the encrypted copy", "err", err)
		s.resume(ctx, cancel, j, log)
		return
	}
	if err != nil {
		cancel()
		os.RemoveAll(j.dir) // the copy of a send that failed for good
		s.finish(j, "", err, log)
		return
	}
	s.finish(j, stateWaiting, nil, log)
	go s.awaitReceipt(ctx, cancel, j, log)
}

// resume uploads the kept copy, then waits for the receipt.
func (s *Server) resume(ctx context.Context, cancel context.CancelFunc, j *job, log *slog.Logger) {
	j.set(stateResuming, nil)
	err := s.cfg.Transport.Upload(ctx, j.login, j.folder, j.dir, j.name, func(n int64) { j.sent.Store(n) })
	if err != nil {
		// Resume may help unless the user (or the app's end) cancelled.
		j.mu.Lock()
		j.resumable = ctx.Err() == nil
		j.mu.Unlock()
		cancel()
		s.finish(j, "", err, log)
		return
	}
	j.mu.Lock()
	j.resumable = false
	j.mu.Unlock()
	s.finish(j, stateWaiting, nil, log)
	go s.awaitReceipt(ctx, cancel, j, log)
}

// finish records the outcome: state on success, failed or cancelled on err.
func (s *Server) finish(j *job, state string, err error, log *slog.Logger) {
	switch {
	case err == nil:
		j.set(state, nil)
		log.Info("done", "state", state)
	case errors.Is(err, context.Canceled):
		j.set(stateCancelled, nil)
		log.Info("cancelled")
	default:
		j.set(stateFailed, err)
		log.Warn("failed", "code", verify.CodeOf(err), "err", err)
	}
}

// awaitReceipt reads the journal folder until the receipt arrives, the
// job is cancelled or the app stops.
func (s *Server) awaitReceipt(ctx context.Context, cancel context.CancelFunc, j *job, log *slog.Logger) {
	defer cancel()
	t := time.NewTicker(s.cfg.ReceiptPoll)
	defer t.Stop()
	var read ReadReceipt
	for {
		var rc *verify.Receipt
		var err error
		if read == nil {
			// The folder (and its receipt key) is opened once, and again
			// only after that failed.
			read, err = s.cfg.Transport.Receipts(ctx, j.login, j.folder)
		}
		if read != nil {
			rc, err = read(ctx, j.name, j.manifest)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			// A network hiccup or a receipt that does not check out:
			// shown, and tried again; the bundle is sent either way.
			log.Warn("receipt", "err", err)
			j.mu.Lock()
			j.err = err
			j.mu.Unlock()
		case rc != nil:
			state := stateAccepted
			if rc.Status != verify.ReceiptAccepted {
				state = stateRejected
			}
			j.mu.Lock()
			j.receipt, j.err = rc, nil
			j.mu.Unlock()
			j.set(state, nil)
			log.Info("receipt", "status", rc.Status, "code", rc.Code)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// setManifest records the bundle's manifest; j.mu is held.
func (j *job) setManifest(data []byte) {
	j.manifest, j.payload = data, nil
	if data == nil {
		return
	}
	if m, err := verify.ParseManifest(data); err == nil {
		j.payload = &m.Payload
	}
}

// clean deletes the files the app made for the job: the kept encrypted
// copy, or the bundle "encrypt only" wrote.
func (j *job) clean() ([]string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state == stateSending || j.state == stateResuming {
		return nil, verify.Errorf(verify.CodeUsage, "the bundle is still being sent")
	}
	var done []string
	for _, p := range j.created {
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return done, err
		}
		done = append(done, p)
	}
	j.cleaned = append(j.cleaned, done...)
	j.created = nil
	return done, nil
}

// cancelJobs stops every job, on the way out.
func (s *Server) cancelJobs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		j.mu.Lock()
		if j.cancel != nil {
			j.cancel()
		}
		j.mu.Unlock()
	}
}
