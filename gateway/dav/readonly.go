package dav

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/net/webdav"
)

// readOnlyDir is a folder served read-only, without hidden names: a
// user's upload folders, for the PROPFIND that lists the chunks of an
// upload to resume it.
type readOnlyDir string

func (d readOnlyDir) resolve(op, name string) (string, error) {
	clean := path.Clean("/" + name)
	for _, seg := range strings.Split(clean, "/") {
		if hidden(seg) {
			return "", &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
		}
	}
	return filepath.Join(string(d), filepath.FromSlash(clean)), nil
}

func (d readOnlyDir) Mkdir(context.Context, string, os.FileMode) error { return os.ErrPermission }
func (d readOnlyDir) RemoveAll(context.Context, string) error          { return os.ErrPermission }
func (d readOnlyDir) Rename(context.Context, string, string) error     { return os.ErrPermission }

func (d readOnlyDir) OpenFile(_ context.Context, name string, flag int, _ os.FileMode) (webdav.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, os.ErrPermission
	}
	p, err := d.resolve("open", name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	return hidingFile{f}, nil
}

func (d readOnlyDir) Stat(_ context.Context, name string) (os.FileInfo, error) {
	p, err := d.resolve("stat", name)
	if err != nil {
		return nil, err
	}
	return os.Stat(p)
}

// hidingFile is an open file whose folder listing leaves out hidden names.
type hidingFile struct{ *os.File }

func (f hidingFile) Readdir(n int) ([]os.FileInfo, error) {
	for {
		batch, err := f.File.Readdir(n)
		out := batch[:0]
		for _, fi := range batch {
			if !hidden(fi.Name()) {
				out = append(out, fi)
			}
		}
		if n <= 0 || len(out) > 0 || err != nil {
			return out, err
		}
	}
}
