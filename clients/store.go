// Package clients moves bundles to and from where they are kept: a local
// folder, a WebDAV server such as Nextcloud, or an S3 bucket. The client
// uploads through it and the gateway watches inboxes through it, so each
// kind of storage is implemented once, behind one small interface.
package clients

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path"
	"strings"
	"time"
)

// Store is one folder tree: a journal folder, or the folder that holds
// journal folders. Paths are slash-separated and relative to the root;
// "" is the root itself.
type Store interface {
	// Stat describes a file or folder, or fails with ErrNotFound.
	Stat(ctx context.Context, path string) (Info, error)
	// List returns the entries of a folder.
	List(ctx context.Context, dir string) ([]Info, error)
	// Open reads a file.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// Put stores size bytes from r under path, replacing any file there.
	// The file appears under path only once complete: until then it has
	// a hidden temporary name that watchers ignore.
	Put(ctx context.Context, path string, r io.Reader, size int64) error
	// Rename moves a file to another path in the store, replacing any
	// file there. WebDAV's Put uses it to move a finished upload into
	// place; the contract tests hold every store to it.
	Rename(ctx context.Context, from, to string) error
	// Remove deletes a file.
	Remove(ctx context.Context, path string) error
	// Mkdir creates a folder whose parent exists; one that already
	// exists is no error.
	Mkdir(ctx context.Context, path string) error
}

// Resumer is a Store that can continue an interrupted upload. id names
// the content (its SHA-256, say): a later call with the same path, size
// and id keeps the parts already stored and sends only the rest.
type Resumer interface {
	PutResumable(ctx context.Context, path string, r io.Reader, size int64, id string) error
}

// Info describes a stored file or folder.
type Info struct {
	Name    string
	Size    int64
	Dir     bool
	ModTime time.Time
}

// Credentials authenticate to a remote store.
type Credentials struct {
	User     string
	Password string
}

// OpenOptions are what OpenWith needs besides the target URL.
type OpenOptions struct {
	// Credentials are the WebDAV user and password. S3 ignores them: it
	// takes its keys from the AWS chain (AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY, or a profile), see S3Options.
	Credentials
	// S3 configures s3:// targets: the endpoint of an S3-compatible
	// server, region, profile, part size, KeepPartial.
	S3 S3Options
	// ChunkSize is the chunk size of Nextcloud's chunked upload
	// (DefaultChunkSize if zero).
	ChunkSize int64
}

// Open returns the store a target URL names:
//
//	file:///srv/inbox/THL_1234_14.02.00_2023/
//	https://cloud.example.fi/remote.php/dav/files/alice/THL_1234_14.02.00_2023/
//	s3://bucket/inbox/THL_1234_14.02.00_2023/
//
// Credentials in the URL itself are refused: a password in a URL ends up
// in shell history and process lists. Open is OpenWith with only
// credentials; s3:// targets then go to AWS with default options.
func Open(target string, cred Credentials) (Store, error) {
	return OpenWith(context.Background(), target, OpenOptions{Credentials: cred})
}

// OpenWith is Open with options for every kind of store; ctx bounds only
// the opening (reading the AWS configuration), not the store's later use.
func OpenWith(ctx context.Context, target string, o OpenOptions) (Store, error) {
	cred := o.Credentials
	u, err := CheckTarget(target)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("%w: file URLs name a local folder (file:///path)", ErrTarget)
		}
		return NewLocal(u.Path)
	case "http", "https":
		if u.User != nil && cred.User == "" {
			cred.User = u.User.Username()
		}
		u.User = nil
		chunk := o.ChunkSize
		if chunk <= 0 {
			chunk = DefaultChunkSize
		}
		return NewWebDAVChunked(u.String(), cred, chunk), nil
	case "s3":
		if u.User != nil {
			return nil, fmt.Errorf("%w: put no keys in the URL; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a profile", ErrTarget)
		}
		if u.Host == "" || u.Port() != "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w: %q: S3 targets look like s3://bucket/folder/", ErrTarget, target)
		}
		return NewS3(ctx, u.Host, u.Path, o.S3)
	}
	return nil, fmt.Errorf("%w: %q: use https://… (WebDAV, Nextcloud), s3://bucket/… or file:///…", ErrTarget, target)
}

// CheckTarget parses a target URL and refuses one this package cannot
// open or must not send a password to (plain http to another machine),
// without contacting anything: callers check a target before asking for a
// password. Errors never repeat a password found in the URL.
func CheckTarget(target string) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil {
		// url's own error would quote the URL, password and all.
		return nil, fmt.Errorf("%w: not a valid URL", ErrTarget)
	}
	if _, has := u.User.Password(); has {
		return nil, fmt.Errorf("%w: put no password in the URL; use --password-file or SIIRTO_PASSWORD", ErrTarget)
	}
	switch u.Scheme {
	case "http":
		if !IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%w: plain http is allowed only to this machine; use https", ErrTarget)
		}
		return u, nil
	case "file", "https", "s3":
		return u, nil
	}
	return nil, fmt.Errorf("%w: %q: use https://… (WebDAV, Nextcloud), s3://bucket/… or file:///…", ErrTarget, u.Redacted())
}

// IsLoopback reports whether host names this machine: "localhost" or a
// loopback IP address. A host name that merely starts with "127." (such
// as 127.attacker.example) is not: plain HTTP and passwords in clear are
// allowed only to loopback.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Base returns the last element of a target URL's path: the journal
// folder's name when the target is a journal folder.
func Base(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	p := strings.TrimRight(u.Path, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

// Errors from stores. Callers match them with errors.Is; verify maps them
// to stable error codes with advice.
var (
	ErrTarget    = errors.New("invalid target")
	ErrNotFound  = errors.New("not found on the server")
	ErrAuth      = errors.New("the server refused the user name or password")
	ErrForbidden = errors.New("the server does not allow this")
	ErrConflict  = errors.New("the folder to write into does not exist")
	ErrTooLarge  = errors.New("the server refuses a file this large")
	ErrLocked    = errors.New("the file is locked on the server")
	ErrQuota     = errors.New("the storage quota is exceeded")
	ErrServer    = errors.New("the server failed")
	ErrNetwork   = errors.New("the server could not be reached")
	// ErrSourceChanged comes from a caller's reader: the data being sent
	// is not what it should be. It is never retried, and a store that
	// kept parts of the upload for resuming drops them.
	ErrSourceChanged = errors.New("the data changed while it was being sent")
)

// StatusError is an HTTP failure, wrapping one of the errors above.
type StatusError struct {
	Op, Path string
	Status   int
	Err      error
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %v", e.Op, e.Path, e.Status, e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }

// statusErr maps an HTTP status to an error.
func statusErr(op, path string, status int) error {
	var kind error
	switch {
	case status == 401:
		kind = ErrAuth
	case status == 403:
		kind = ErrForbidden
	case status == 404:
		kind = ErrNotFound
	case status == 409:
		kind = ErrConflict
	case status == 413:
		kind = ErrTooLarge
	case status == 423:
		kind = ErrLocked
	case status == 507:
		kind = ErrQuota
	default:
		kind = ErrServer
	}
	return &StatusError{Op: op, Path: path, Status: status, Err: kind}
}

// Temporary reports whether retrying may help: network failures, server
// errors and locks; not refusals such as a wrong password.
func Temporary(err error) bool {
	if errors.Is(err, ErrSourceChanged) || permanentNetwork(err) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status >= 500 && se.Status != 507 || se.Status == 423 || se.Status == 429
	}
	return errors.Is(err, ErrNetwork)
}

// cleanPath checks that p is a plain relative store path (no "..", no
// doubled or backslash separators) and returns it cleaned with a leading
// "/": "/" for the root. Local and S3 resolve paths through it, so
// neither can be led outside its root.
func cleanPath(p string) (string, error) {
	clean := path.Clean("/" + p)
	if strings.Contains(p, `\`) || clean != "/"+strings.Trim(p, "/") && p != "" {
		return "", fmt.Errorf("%w: %q is not a plain relative path", ErrTarget, p)
	}
	return clean, nil
}

// sizeErr reports an upload whose length is not the size announced.
func sizeErr(p string, got, want int64) error {
	return fmt.Errorf("put %s: %d bytes arrived, %d were announced", p, got, want)
}

// tempName is the hidden name a file has while it is written.
func tempName(path string) string {
	dir, base := "", path
	if i := strings.LastIndex(path, "/"); i >= 0 {
		dir, base = path[:i+1], path[i+1:]
	}
	return fmt.Sprintf("%s.%s.part-%d", dir, base, time.Now().UnixNano())
}

// permanentNetwork recognises network failures that a retry cannot mend:
// a certificate the system does not trust, and a host name that does not
// exist.
func permanentNetwork(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var dns *net.DNSError
	return errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &dns) && dns.IsNotFound
}
