package clients

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/studio-b12/gowebdav"
)

// WebDAV is a store on a WebDAV server: Nextcloud, Apache mod_dav, or the
// gateway's own endpoint. Files go up in one streamed PUT with a
// Content-Length (never chunked transfer encoding, which PHP-based servers
// turn into empty files) under a hidden temporary name, then a MOVE puts
// them in place, so no one ever sees a partial file.
//
// On Nextcloud (a base URL under /remote.php/dav/files/USER/) files larger
// than one chunk go up with chunked upload v2 instead: numbered chunks in
// /remote.php/dav/uploads/USER/ID, assembled by a final MOVE. The upload
// ID comes from the content's identity, so an upload interrupted by a
// crash, Ctrl-C or a lost connection resumes by listing the chunks already
// there. Unfinished upload folders are left for that (Nextcloud expires
// them after a day).
type WebDAV struct {
	c       *gowebdav.Client
	http    *http.Client
	base    string
	cred    Credentials
	uploads string // Nextcloud's uploads URL for the user, or ""
	chunk   int64
	plain   bool   // the server has no chunked upload: use plain PUTs
	state   string // where chunk logs of resumable uploads live
}

// DefaultChunkSize is the chunk size of Nextcloud uploads: large enough
// for throughput, small enough that a lost connection costs little.
const DefaultChunkSize = 16 << 20

// NewWebDAV returns the store rooted at base, an http(s) URL.
func NewWebDAV(base string, cred Credentials) *WebDAV {
	return NewWebDAVChunked(base, cred, DefaultChunkSize)
}

// NewWebDAVChunked is NewWebDAV with another chunk size for Nextcloud's
// chunked upload; Nextcloud needs at least 5 MiB.
func NewWebDAVChunked(base string, cred Credentials, chunk int64) *WebDAV {
	// Preemptive authentication with our own Authenticator: gowebdav's
	// negotiating one buffers a whole upload in memory to replay it.
	c := gowebdav.NewAuthClient(base, gowebdav.NewPreemptiveAuth(&basicAuth{cred}))
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   4,
		ResponseHeaderTimeout: 10 * time.Minute, // a MOVE of a large file can take a while
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   30 * time.Second,
	}
	// Redirects are followed by the http.Client (ours, and gowebdav's own):
	// refusing a downgrade at the transport covers both, so credentials
	// never go out in clear after an https server redirects to http.
	guarded := noDowngrade{next: transport, https: strings.HasPrefix(base, "https:")}
	c.SetTransport(guarded)
	w := &WebDAV{c: c, http: &http.Client{Transport: guarded}, base: strings.TrimSuffix(base, "/") + "/", cred: cred, chunk: chunk, state: defaultStateDir()}
	if i := strings.Index(w.base, "/remote.php/dav/files/"); i >= 0 {
		rest := w.base[i+len("/remote.php/dav/files/"):]
		if user, _, ok := strings.Cut(rest, "/"); ok && user != "" {
			w.uploads = w.base[:i] + "/remote.php/dav/uploads/" + user + "/"
		}
	}
	return w
}

// url returns the address of a store path, each element escaped.
func (w *WebDAV) url(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i, part := range parts {
		parts[i] = url.PathEscape(part)
	}
	return w.base + strings.Join(parts, "/")
}

// put sends one PUT with a Content-Length. gowebdav's own writer first
// creates any missing parent folders, and a store must never create a
// journal folder by uploading into it.
func (w *WebDAV) put(ctx context.Context, p string, r io.Reader, size int64) error {
	err := w.do(ctx, http.MethodPut, w.url(p), p, r, size, nil)
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		// rclone answers 404 where Apache and Nextcloud answer 409: the
		// folder to write into does not exist.
		return statusErr("put", p, http.StatusConflict)
	}
	return err
}

// do sends one request and maps its status. A body always goes with its
// Content-Length: never chunked transfer encoding, which PHP-based servers
// turn into empty files.
func (w *WebDAV) do(ctx context.Context, method, u, p string, body io.Reader, size int64, headers map[string]string) error {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.ContentLength = size // -1: chunked transfer encoding, for unknown sizes only
	if b, ok := body.(*chunkBodyReader); ok {
		// As for a bytes.Reader: a redirect or a retry sends it again.
		req.GetBody = func() (io.ReadCloser, error) { return b.c.open(), nil }
	}
	if size == 0 || body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.SetBasicAuth(w.cred.User, w.cred.Password)
	resp, err := w.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return &networkError{op: strings.ToLower(method), path: p, err: err}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return statusErr(strings.ToLower(method), p, resp.StatusCode)
}

// PutResumable implements Resumer: Nextcloud's chunked upload for files
// over one chunk, a plain Put otherwise or where the server lacks it.
func (w *WebDAV) PutResumable(ctx context.Context, p string, r io.Reader, size int64, id string) error {
	if w.uploads == "" || w.plain || size <= w.chunk {
		return w.Put(ctx, p, r, size)
	}
	// The ID covers everything that decides the chunks' contents, so a
	// rerun reuses chunks only of the same content cut the same way.
	sum := sha256.Sum256([]byte(id + "\n" + p + "\n" + strconv.FormatInt(size, 10) + "\n" + strconv.FormatInt(w.chunkFor(size), 10)))
	upload := "siirto-" + hex.EncodeToString(sum[:12])
	err := w.chunked(ctx, p, r, size, upload, map[string]int64{})
	if errors.Is(err, errNoChunking) {
		return w.Put(ctx, p, r, size)
	}
	return err
}

// Nextcloud takes at most 10,000 chunks of at most 5 GiB.
const (
	maxChunks = 10000
	maxChunk  = 5 << 30
)

// chunkFor is the chunk size for an upload of size bytes: the configured
// one, or larger (whole MiB) if 10,000 chunks would not hold the file.
func (w *WebDAV) chunkFor(size int64) int64 {
	if need := (size + maxChunks - 1) / maxChunks; need > w.chunk {
		return (need + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return w.chunk
}

// errNoChunking: the server has no Nextcloud uploads endpoint; nothing was
// read from the source yet.
var errNoChunking = errors.New("no chunked upload")

// chunked sends r as numbered chunks of the upload folder, then MOVEs
// .file into place. With have != nil an existing folder is resumed: a
// chunk already there is skipped when its size is right and the chunk log
// shows it was sent from the same bytes as those read now. Each chunk is
// read into one buffer, so its Content-Length is known even when the
// total is not; OC-Total-Length goes with every chunk when the size is
// known, and always with the final MOVE.
func (w *WebDAV) chunked(ctx context.Context, p string, r io.Reader, size int64, upload string, have map[string]int64) error {
	dir := w.uploads + upload + "/"
	dest := w.url(p)
	log := &chunkLog{sums: map[string]string{}}
	if have != nil {
		log = openChunkLog(w.state, upload)
	}
	err := w.do(ctx, "MKCOL", strings.TrimSuffix(dir, "/"), upload, nil, 0, map[string]string{"Destination": dest})
	var se *StatusError
	switch {
	case err == nil:
		log.reset() // a new folder: nothing recorded earlier is on the server
	case have != nil && errors.As(err, &se) && se.Status == http.StatusMethodNotAllowed:
		// The folder exists: an earlier run of this upload. Keep its chunks.
		uc := gowebdav.NewAuthClient(w.uploads, gowebdav.NewPreemptiveAuth(&basicAuth{w.cred}))
		uc.SetTransport(w.http.Transport)
		chunks, lerr := uc.ReadDir(upload)
		if lerr != nil {
			return mapDAV("list", upload, lerr)
		}
		for _, c := range chunks {
			have[c.Name()] = c.Size()
		}
	case errors.As(err, &se) && se.Status != http.StatusUnauthorized && se.Status < 500:
		// Not Nextcloud after all (Apache at a Nextcloud-shaped path, say).
		w.plain = true
		return errNoChunking
	default:
		return err
	}
	fail := func(err error) error {
		if have == nil || errors.Is(err, ErrSourceChanged) {
			// A one-off upload cannot be resumed, and changed data must not
			// be: do not leave its chunks.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			_ = w.do(dctx, http.MethodDelete, strings.TrimSuffix(dir, "/"), upload, nil, 0, nil)
			cancel()
			log.remove()
		}
		return err
	}
	headers := map[string]string{"Destination": dest}
	if size >= 0 {
		headers["OC-Total-Length"] = strconv.FormatInt(size, 10)
	}
	chunks := readChunks(ctx, r, w.chunkFor(size), size < 0)
	defer chunks.stop()
	var total int64
	for n := 1; ; n++ {
		c, ok := <-chunks.next
		if !ok {
			break
		}
		if c.err != nil {
			return fail(c.err)
		}
		k, buf := c.n, c.buf
		if k == 0 && n > 1 {
			break // the previous chunk ended exactly at the end
		}
		name := fmt.Sprintf("%05d", n)
		// The chunk's SHA-256 serves only the chunk log of a resumable
		// upload: a one-off upload (have == nil) skips hashing.
		var hexSum string
		if have != nil {
			sum := sha256.Sum256(buf[:k])
			hexSum = hex.EncodeToString(sum[:])
		}
		if got, ok := have[name]; !ok || got != int64(k) || k == 0 || !log.matches(name, hexSum) {
			body := newChunkBody(buf[:k])
			if err := w.do(ctx, http.MethodPut, dir+name, p, body.open(), int64(k), headers); err != nil {
				return fail(err)
			}
			if have != nil {
				log.record(name, hexSum)
			}
			if !body.closed(time.Minute) {
				buf = nil // never reused: the next chunk gets a new buffer
			}
		}
		chunks.free <- buf
		total += int64(k)
		if c.last {
			break
		}
	}
	if size >= 0 && total != size {
		return fail(sizeErr(p, total, size))
	}
	move := map[string]string{"Destination": dest, "OC-Total-Length": strconv.FormatInt(total, 10), "Overwrite": "T"}
	if err := w.do(ctx, "MOVE", dir+".file", p, nil, 0, move); err != nil {
		return fail(err)
	}
	log.remove()
	return nil
}

// chunkBody hands a chunk's buffer to net/http as request bodies, and
// tells when every one of them is closed: the transport may still be
// writing a body after the answer came (a server that answers before it
// has read everything, a redirect), and the buffer must not be refilled
// until it is done.
type chunkBody struct {
	data []byte
	n    atomic.Int32 // bodies not yet closed
	done chan struct{}
}

func newChunkBody(data []byte) *chunkBody {
	return &chunkBody{data: data, done: make(chan struct{}, 1)}
}

// open returns one body over the chunk; do gives it GetBody for more.
func (c *chunkBody) open() *chunkBodyReader {
	c.n.Add(1)
	return &chunkBodyReader{Reader: bytes.NewReader(c.data), c: c}
}

// closed waits up to d for every body to be closed.
func (c *chunkBody) closed(d time.Duration) bool {
	if len(c.data) == 0 {
		return true // an empty body is never handed to the transport
	}
	timeout := time.After(d)
	for c.n.Load() != 0 {
		select {
		case <-c.done:
		case <-timeout:
			return false
		}
	}
	return true
}

type chunkBodyReader struct {
	*bytes.Reader
	c    *chunkBody
	once sync.Once
}

func (r *chunkBodyReader) Close() error {
	r.once.Do(func() {
		if r.c.n.Add(-1) == 0 {
			select {
			case r.c.done <- struct{}{}:
			default:
			}
		}
	})
	return nil
}

// chunkReader reads an upload's chunks on a goroutine of its own, one
// chunk ahead of the one on the wire: the source (an encryption, say)
// keeps working while a chunk is sent and the server stores it, instead
// of stopping at every chunk. Memory: two chunks.
type chunkReader struct {
	next        chan readChunk
	free        chan []byte
	quit        chan struct{}
	done        chan struct{}
	stopReading context.CancelFunc
}

// readChunk is one chunk read: buf[:n], whether it is the last, or the
// error that stopped reading.
type readChunk struct {
	buf  []byte
	n    int
	last bool
	err  error
}

// readChunks starts reading r in chunks of size bytes. With grow (the
// total length is unknown), chunks double every thousand, up to
// Nextcloud's limit, so that 10,000 of them reach far beyond what any
// extract needs.
func readChunks(ctx context.Context, r io.Reader, size int64, grow bool) *chunkReader {
	ctx, stopReading := context.WithCancel(ctx)
	c := &chunkReader{
		stopReading: stopReading,
		next:        make(chan readChunk),
		free:        make(chan []byte, 2),
		quit:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	c.free <- nil
	c.free <- nil
	go func() {
		defer close(c.done)
		defer close(c.next)
		src := &ctxReader{ctx: ctx, r: r}
		for n := 1; ; n++ {
			if grow && n > 1 && (n-1)%1000 == 0 {
				size = min(2*size, maxChunk)
			}
			var buf []byte
			select {
			case buf = <-c.free:
			case <-c.quit:
				return
			}
			if int64(len(buf)) != size {
				buf = make([]byte, size)
			}
			k, err := io.ReadFull(src, buf)
			last := err == io.EOF || err == io.ErrUnexpectedEOF
			if last {
				err = nil
			}
			select {
			case c.next <- readChunk{buf: buf, n: k, last: last, err: err}:
			case <-c.quit:
				return
			}
			if last || err != nil {
				return
			}
		}
	}()
	return c
}

// stop ends the reading and waits for it: once the upload returns, no
// one reads its source any more. A chunk being filled stops at the
// source's next Read, not at the chunk's end.
func (c *chunkReader) stop() {
	c.stopReading()
	close(c.quit)
	<-c.done
}

// Stat implements Store.
func (w *WebDAV) Stat(ctx context.Context, p string) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	st, err := w.c.Stat(p)
	if err != nil {
		return Info{}, mapDAV("stat", p, err)
	}
	return infoOf(st), nil
}

// List implements Store.
func (w *WebDAV) List(ctx context.Context, dir string) ([]Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := w.c.ReadDir(dir)
	if err != nil {
		return nil, mapDAV("list", dir, err)
	}
	out := make([]Info, 0, len(entries))
	for _, st := range entries {
		out = append(out, infoOf(st))
	}
	return out, nil
}

// Open implements Store with a GET that honours ctx.
func (w *WebDAV) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url(p), nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(w.cred.User, w.cred.Password)
	resp, err := w.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &networkError{op: "get", path: p, err: err}
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, statusErr("get", p, resp.StatusCode)
	}
	return resp.Body, nil
}

// Put implements Store. A file of unknown size (size < 0) goes to
// Nextcloud in chunks that are announced one by one, and to other servers
// in one PUT with chunked transfer encoding.
func (w *WebDAV) Put(ctx context.Context, p string, r io.Reader, size int64) error {
	if size < 0 && w.uploads != "" && !w.plain {
		id := make([]byte, 12)
		_, _ = rand.Read(id)
		err := w.chunked(ctx, p, r, size, "siirto-"+hex.EncodeToString(id), nil)
		if !errors.Is(err, errNoChunking) {
			return err
		}
	}
	tmp := tempName(p)
	if err := w.put(ctx, tmp, r, size); err != nil {
		w.cleanup(ctx, tmp) // best effort: a hidden partial file is all that can remain
		return err
	}
	if err := w.Rename(ctx, tmp, p); err != nil {
		w.cleanup(ctx, tmp)
		return err
	}
	return nil
}

// Rename implements Store with a MOVE that overwrites.
func (w *WebDAV) Rename(ctx context.Context, from, to string) error {
	return w.do(ctx, "MOVE", w.url(from), from, nil, 0, map[string]string{"Destination": w.url(to), "Overwrite": "T"})
}

// cleanup removes a temporary file after a failure, even when ctx is
// done, but gives up after 30 seconds.
func (w *WebDAV) cleanup(ctx context.Context, p string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = w.Remove(cctx, p)
}

// Remove implements Store.
func (w *WebDAV) Remove(ctx context.Context, p string) error {
	return w.do(ctx, http.MethodDelete, w.url(p), p, nil, 0, nil)
}

// Mkdir implements Store. A folder that already exists is no error
// (Apache answers 405 to MKCOL on it, rclone 201).
func (w *WebDAV) Mkdir(ctx context.Context, p string) error {
	err := w.do(ctx, "MKCOL", w.url(p), p, nil, 0, nil)
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusMethodNotAllowed {
		if st, serr := w.Stat(ctx, p); serr == nil && st.Dir {
			return nil
		}
	}
	return err
}

// mapDAV turns gowebdav's errors (status codes inside os.PathError, or
// transport errors) into this package's.
func mapDAV(op, p string, err error) error {
	if err == nil {
		return nil
	}
	// gowebdav reports a status as an os.PathError around a StatusError.
	var se gowebdav.StatusError
	if errors.As(err, &se) {
		return statusErr(op, p, se.Status)
	}
	return &networkError{op: op, path: p, err: err}
}

type networkError struct {
	op, path string
	err      error
}

func (e *networkError) Error() string { return e.op + " " + e.path + ": " + e.err.Error() }
func (e *networkError) Unwrap() []error {
	return []error{ErrNetwork, e.err}
}

// basicAuth sends HTTP Basic credentials with every request, so no
// request body ever has to be replayed after a 401 challenge.
type basicAuth struct{ cred Credentials }

func (b *basicAuth) Authorize(_ *http.Client, rq *http.Request, _ string) error {
	rq.SetBasicAuth(b.cred.User, b.cred.Password)
	return nil
}

func (b *basicAuth) Verify(_ *http.Client, rs *http.Response, _ string) (bool, error) {
	return false, nil // a 401 is reported by the status check
}

func (b *basicAuth) Clone() gowebdav.Authenticator { c := *b; return &c }

func (b *basicAuth) Close() error { return nil }

// noDowngrade refuses plain-http requests to other machines from a store
// whose base is https, whatever redirect led there.
type noDowngrade struct {
	next  http.RoundTripper
	https bool
}

func (n noDowngrade) RoundTrip(r *http.Request) (*http.Response, error) {
	if n.https && r.URL.Scheme == "http" && !IsLoopback(r.URL.Hostname()) {
		return nil, fmt.Errorf("%w: refusing a redirect from https to %s", ErrForbidden, r.URL.Redacted())
	}
	return n.next.RoundTrip(r)
}
