package clients

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/studio-b12/gowebdav"
)

// WebDAV is a store on a WebDAV server: Nextcloud, Apache mod_dav, or the
// gateway's own endpoint. Files go up in one streamed PUT with a
// Content-Length (never chunked transfer encoding, which PHP-based servers
// turn into empty files) under a hidden temporary name, then a MOVE puts
// them in place, so no one ever sees a partial file.
type WebDAV struct {
	c    *gowebdav.Client
	http *http.Client
	base string
	cred Credentials
}

// NewWebDAV returns the store rooted at base, an http(s) URL.
func NewWebDAV(base string, cred Credentials) *WebDAV {
	// Preemptive authentication with our own Authenticator: gowebdav's
	// negotiating one buffers a whole upload in memory to replay it.
	c := gowebdav.NewAuthClient(base, gowebdav.NewPreemptiveAuth(&basicAuth{cred}))
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		MaxIdleConnsPerHost:   4,
		ResponseHeaderTimeout: 10 * time.Minute, // a MOVE of a large file can take a while
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   30 * time.Second,
	}
	c.SetTransport(transport)
	return &WebDAV{c: c, http: &http.Client{Transport: transport}, base: strings.TrimSuffix(base, "/") + "/", cred: cred}
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, w.url(p), r)
	if err != nil {
		return err
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	req.SetBasicAuth(w.cred.User, w.cred.Password)
	resp, err := w.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return &networkError{op: "put", path: p, err: err}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated, http.StatusNoContent:
		return nil
	}
	return statusErr("put", p, resp.StatusCode)
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
	return Info{Name: st.Name(), Size: st.Size(), Dir: st.IsDir(), ModTime: st.ModTime()}, nil
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
		out = append(out, Info{Name: st.Name(), Size: st.Size(), Dir: st.IsDir(), ModTime: st.ModTime()})
	}
	return out, nil
}

// Open implements Store.
func (w *WebDAV) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := w.c.ReadStream(p)
	if err != nil {
		return nil, mapDAV("get", p, err)
	}
	return r, nil
}

// Put implements Store. The size must be known: a streamed upload of
// unknown length needs chunked upload, which plain WebDAV lacks.
func (w *WebDAV) Put(ctx context.Context, p string, r io.Reader, size int64) error {
	if size < 0 {
		return errors.New("webdav: the size of an upload must be known")
	}
	tmp := tempName(p)
	if err := w.put(ctx, tmp, r, size); err != nil {
		_ = w.c.Remove(tmp) // best effort: a hidden partial file is all that can remain
		return err
	}
	if err := w.c.Rename(tmp, p, true); err != nil {
		_ = w.c.Remove(tmp)
		return mapDAV("move", p, err)
	}
	return nil
}

// Remove implements Store.
func (w *WebDAV) Remove(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return mapDAV("delete", p, w.c.Remove(p))
}

// Mkdir implements Store.
func (w *WebDAV) Mkdir(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return mapDAV("mkcol", p, w.c.Mkdir(p, 0))
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
