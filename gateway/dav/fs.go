package dav

import (
	"context"
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/webdav"
)

// davFS is the files tree of one request as x/net/webdav sees it: "/"
// lists the user's journal folders (read-only), "/<folder>/..." is
// Root/<folder>/... It hides the gateway's temporary files, creates
// files 0600 and folders 0700, writes new files under a temporary name
// and renames them into place, and applies the bundle rules again at
// every change, under the folder's lock: the checks the HTTP layer makes
// first give better answers, these make sure that no race gets through.
type davFS struct {
	s  *Server
	rq *request
}

// resolve maps a webdav name to a target; the zero target is the
// virtual root. Hidden, invalid and ungranted names do not exist.
func (d *davFS) resolve(op, name string) (target, error) {
	clean := path.Clean("/" + name)
	if clean == "/" {
		return target{}, nil
	}
	segs := strings.Split(clean[1:], "/")
	for _, seg := range segs {
		if hidden(seg) || checkSegment(seg) != nil {
			return target{}, &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
		}
	}
	if _, ok := d.rq.grants[segs[0]]; !ok {
		return target{}, &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
	}
	return target{folder: segs[0], rest: segs[1:]}, nil
}

// splitName maps a lock-store name ("/<folder>/...") to a target.
func splitName(name string) (target, bool) {
	clean := path.Clean("/" + name)
	if clean == "/" {
		return target{}, false
	}
	segs := strings.Split(clean[1:], "/")
	return target{folder: segs[0], rest: segs[1:]}, true
}

// refusal says why t may not be changed, or "" when it may: the root
// and a journal folder itself never, the rest as the policy says.
func (d *davFS) refusal(t target) string {
	if t.folder == "" {
		return "the top level lists your journal folders and cannot be changed"
	}
	return d.s.refusal(d.rq, t)
}

// writable reports a refusal to change t as an error, or returns nil.
func (d *davFS) writable(t target) error {
	if reason := d.refusal(t); reason != "" {
		return d.s.denied(d.rq, reason)
	}
	return nil
}

// change runs op under the folder mutexes of a and b unless the policy
// refuses a change to either; a refusal is reported after the mutexes
// are released.
func (d *davFS) change(a, b target, op func() error) error {
	if a.folder == "" || b.folder == "" {
		return d.writable(target{})
	}
	unlock := d.s.lockFolders(a.folder, b.folder)
	reason := d.refusal(a)
	if reason == "" {
		reason = d.refusal(b)
	}
	var err error
	if reason == "" {
		err = op()
	}
	unlock()
	if reason != "" {
		return d.s.denied(d.rq, reason)
	}
	return err
}

// Mkdir implements webdav.FileSystem.
func (d *davFS) Mkdir(_ context.Context, name string, _ os.FileMode) error {
	t, err := d.resolve("mkdir", name)
	if err != nil {
		return err
	}
	return d.change(t, t, func() error { return os.Mkdir(t.disk(d.s.cfg.Root), 0o700) })
}

// OpenFile implements webdav.FileSystem. x/net/webdav opens for writing
// (with O_CREATE|O_TRUNC) only to make a COPY's destination, and
// O_RDWR without them only to patch properties.
func (d *davFS) OpenFile(_ context.Context, name string, flag int, _ os.FileMode) (webdav.File, error) {
	t, err := d.resolve("open", name)
	if err != nil {
		return nil, err
	}
	create := flag&(os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0
	if t.folder == "" {
		if create || flag&(os.O_WRONLY|os.O_RDWR) != 0 {
			return nil, d.writable(t)
		}
		return d.root()
	}
	disk := t.disk(d.s.cfg.Root)
	if create {
		if err := d.writable(t); err != nil {
			return nil, err
		}
		tmp, err := os.CreateTemp(filepath.Dir(disk), hiddenPrefix+"put-*")
		if err != nil {
			return nil, err
		}
		return &pendingFile{File: tmp, fs: d, t: t}, nil
	}
	f, err := os.Open(disk)
	if err != nil {
		return nil, err
	}
	return &file{hidingFile: hidingFile{f}, d: d, t: t}, nil
}

// RemoveAll implements webdav.FileSystem.
func (d *davFS) RemoveAll(_ context.Context, name string) error {
	t, err := d.resolve("remove", name)
	if err != nil {
		return err
	}
	err = d.change(t, t, func() error { return os.RemoveAll(t.disk(d.s.cfg.Root)) })
	if err != nil {
		return err
	}
	d.s.props.removeTree(t.name())
	d.s.locks.removeTree(t.name())
	return nil
}

// Rename implements webdav.FileSystem. x/net/webdav has already removed
// an existing destination when the client allowed overwriting; the
// policy is checked again here, under both folders' mutexes.
func (d *davFS) Rename(_ context.Context, oldName, newName string) error {
	o, err := d.resolve("rename", oldName)
	if err != nil {
		return err
	}
	n, err := d.resolve("rename", newName)
	if err != nil {
		return err
	}
	var fi os.FileInfo
	err = d.change(o, n, func() error {
		if err := os.Rename(o.disk(d.s.cfg.Root), n.disk(d.s.cfg.Root)); err != nil {
			return err
		}
		var err error
		fi, err = os.Lstat(n.disk(d.s.cfg.Root))
		return err
	})
	if err != nil {
		return err
	}
	d.s.props.move(o.name(), n.name())
	d.s.locks.removeTree(o.name())
	d.s.stored(d.rq, n, fi)
	return nil
}

// Stat implements webdav.FileSystem.
func (d *davFS) Stat(_ context.Context, name string) (os.FileInfo, error) {
	t, err := d.resolve("stat", name)
	if err != nil {
		return nil, err
	}
	if t.folder == "" {
		return d.rootInfo(), nil
	}
	return os.Stat(t.disk(d.s.cfg.Root))
}

// root lists the granted journal folders that exist on disk.
func (d *davFS) root() (webdav.File, error) {
	var infos []os.FileInfo
	for name := range d.rq.grants {
		if fi, err := os.Stat(d.s.folderDir(name)); err == nil && fi.IsDir() {
			infos = append(infos, fi)
		}
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name() < infos[j].Name() })
	return &rootFile{info: d.rootInfo(), entries: infos}, nil
}

func (d *davFS) rootInfo() os.FileInfo {
	mod := time.Time{}
	if fi, err := os.Stat(d.s.cfg.Root); err == nil {
		mod = fi.ModTime()
	}
	return rootInfo{mod: mod}
}

// file is a file or folder opened for reading (or for its properties).
type file struct {
	hidingFile
	d *davFS
	t target
}

// DeadProps implements webdav.DeadPropsHolder.
func (f *file) DeadProps() (map[xml.Name]webdav.Property, error) {
	return f.d.s.props.get(f.t.name()), nil
}

// Patch implements webdav.DeadPropsHolder: the same rules as for
// changing the file itself.
func (f *file) Patch(patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	if err := f.d.writable(f.t); err != nil {
		return propstats(patches, 403), nil
	}
	return f.d.s.props.patch(f.t.name(), patches), nil
}

// pendingFile is a new file being written (a COPY's destination) under
// a temporary name; Close renames it into place.
type pendingFile struct {
	*os.File
	fs      *davFS
	t       target
	patches []webdav.Proppatch
	closed  bool
}

func (p *pendingFile) Readdir(int) ([]os.FileInfo, error) {
	return nil, &os.PathError{Op: "readdir", Path: p.t.name(), Err: errors.New("not a folder")}
}

// DeadProps implements webdav.DeadPropsHolder: a new file has none yet.
func (p *pendingFile) DeadProps() (map[xml.Name]webdav.Property, error) { return nil, nil }

// Patch keeps the properties for when the file is in place.
func (p *pendingFile) Patch(patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	p.patches = append(p.patches, patches...)
	return propstats(patches, 200), nil
}

// Close syncs the file and commits it under its name.
func (p *pendingFile) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	tmp := p.File.Name()
	err := p.File.Sync()
	if cerr := p.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		_, _, err = p.fs.s.commit(p.fs.rq, p.t, tmp, true)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if len(p.patches) > 0 {
		p.fs.s.props.patch(p.t.name(), p.patches)
	}
	return nil
}

// rootFile is the virtual top level.
type rootFile struct {
	info    os.FileInfo
	entries []os.FileInfo
	read    bool
}

func (r *rootFile) Close() error                   { return nil }
func (r *rootFile) Read([]byte) (int, error)       { return 0, errors.New("the top level is a folder") }
func (r *rootFile) Write([]byte) (int, error)      { return 0, os.ErrPermission }
func (r *rootFile) Seek(int64, int) (int64, error) { return 0, errors.New("the top level is a folder") }
func (r *rootFile) Stat() (os.FileInfo, error)     { return r.info, nil }

func (r *rootFile) Readdir(int) ([]os.FileInfo, error) {
	if r.read {
		return nil, nil
	}
	r.read = true
	return r.entries, nil
}

type rootInfo struct{ mod time.Time }

func (rootInfo) Name() string         { return "/" }
func (rootInfo) Size() int64          { return 0 }
func (rootInfo) Mode() fs.FileMode    { return fs.ModeDir | 0o500 }
func (i rootInfo) ModTime() time.Time { return i.mod }
func (rootInfo) IsDir() bool          { return true }
func (rootInfo) Sys() any             { return nil }
