package clients

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Local is a store in a local folder: for tests, for a shared network
// drive, and for the gateway's embedded default.
type Local struct {
	root string
}

// NewLocal returns the store rooted at dir, which must exist.
func NewLocal(dir string) (*Local, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, mapLocal("open", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a folder", ErrTarget, dir)
	}
	return &Local{root: dir}, nil
}

// file resolves a store path, refusing any that would leave the root.
func (l *Local) file(p string) (string, error) {
	clean, err := cleanPath(p)
	if err != nil {
		return "", err
	}
	return filepath.Join(l.root, filepath.FromSlash(clean)), nil
}

// Stat implements Store.
func (l *Local) Stat(_ context.Context, p string) (Info, error) {
	f, err := l.file(p)
	if err != nil {
		return Info{}, err
	}
	st, err := os.Stat(f)
	if err != nil {
		return Info{}, mapLocal("stat", p, err)
	}
	return infoOf(st), nil
}

// List implements Store.
func (l *Local) List(_ context.Context, dir string) ([]Info, error) {
	f, err := l.file(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(f)
	if err != nil {
		return nil, mapLocal("list", dir, err)
	}
	out := make([]Info, 0, len(entries))
	for _, e := range entries {
		st, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, infoOf(st))
	}
	return out, nil
}

// Open implements Store.
func (l *Local) Open(_ context.Context, p string) (io.ReadCloser, error) {
	f, err := l.file(p)
	if err != nil {
		return nil, err
	}
	r, err := os.Open(f)
	if err != nil {
		return nil, mapLocal("open", p, err)
	}
	return r, nil
}

// Put implements Store: a hidden temporary file, synced, then renamed.
func (l *Local) Put(ctx context.Context, p string, r io.Reader, size int64) (err error) {
	f, err := l.file(p)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f), "."+filepath.Base(f)+".part-")
	if err != nil {
		return mapLocal("put", p, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, &ctxReader{ctx: ctx, r: r})
	if err != nil {
		return err
	}
	if size >= 0 && n != size {
		return sizeErr(p, n, size)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f)
}

// Rename implements Store.
func (l *Local) Rename(_ context.Context, from, to string) error {
	f, err := l.file(from)
	if err != nil {
		return err
	}
	t, err := l.file(to)
	if err != nil {
		return err
	}
	return mapLocal("rename", from, os.Rename(f, t))
}

// Remove implements Store.
func (l *Local) Remove(_ context.Context, p string) error {
	f, err := l.file(p)
	if err != nil {
		return err
	}
	return mapLocal("remove", p, os.Remove(f))
}

// Mkdir implements Store. A folder that already exists is no error.
func (l *Local) Mkdir(_ context.Context, p string) error {
	f, err := l.file(p)
	if err != nil {
		return err
	}
	err = os.Mkdir(f, 0o700)
	if errors.Is(err, fs.ErrExist) {
		if st, serr := os.Stat(f); serr == nil && st.IsDir() {
			return nil
		}
	}
	return mapLocal("mkdir", p, err)
}

// infoOf describes a file as Info; WebDAV's entries are fs.FileInfo too.
func infoOf(st fs.FileInfo) Info {
	return Info{Name: st.Name(), Size: st.Size(), Dir: st.IsDir(), ModTime: st.ModTime()}
}

func mapLocal(op, p string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: %w", op, p, ErrNotFound)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s %s: %w", op, p, ErrForbidden)
	}
	return err
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
