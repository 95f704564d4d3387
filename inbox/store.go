package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// Store is where the journal folders are: the gateway's own inbox folder,
// a WebDAV/Nextcloud folder or an S3 prefix. Every clients.Store is one;
// paths are "<journal-folder>/<name>", relative to the store's root.
type Store interface {
	Stat(ctx context.Context, p string) (clients.Info, error)
	List(ctx context.Context, dir string) ([]clients.Info, error)
	Open(ctx context.Context, p string) (io.ReadCloser, error)
	Put(ctx context.Context, p string, r io.Reader, size int64) error
	Remove(ctx context.Context, p string) error
}

func storePath(folder, name string) string { return path.Join(folder, name) }

func notFound(err error) bool {
	return errors.Is(err, clients.ErrNotFound) || errors.Is(err, os.ErrNotExist)
}

// openFile opens a file of a journal folder. From the local inbox it is
// an *os.File: it can be read at any offset, so a payload is extracted as
// it is decrypted; from a remote store it is a stream, and the decrypted
// zip is spooled in staging/.work first.
func (p *Pipeline) openFile(ctx context.Context, folder, name string) (io.ReadCloser, int64, error) {
	if p.local != "" {
		// A payload was written around the page cache, and is read around
		// it too (encrypt.PayloadReader; small files through it).
		f, err := encrypt.OpenPayload(filepath.Join(p.local, folder, name))
		if err != nil {
			return nil, 0, err
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, info.Size(), nil
	}
	info, err := p.store.Stat(ctx, storePath(folder, name))
	if err != nil {
		return nil, 0, err
	}
	r, err := p.store.Open(ctx, storePath(folder, name))
	return r, info.Size, err
}

// openStream opens a file of a journal folder to read it through, with
// no Stat first (a remote store saves a request).
func (p *Pipeline) openStream(ctx context.Context, folder, name string) (io.ReadCloser, error) {
	if p.local != "" {
		return os.Open(filepath.Join(p.local, folder, name))
	}
	return p.store.Open(ctx, storePath(folder, name))
}

// readManifest reads a manifest and its id (the SHA-256 of the whole
// file). It keeps at most one byte more than a manifest may have, so an
// oversized one is refused by the parser, not held in memory.
func (p *Pipeline) readManifest(ctx context.Context, folder, name string) ([]byte, string, error) {
	r, err := p.openStream(ctx, folder, name)
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	h := sha256.New()
	data, err := io.ReadAll(io.TeeReader(io.LimitReader(r, verify.MaxManifest+1), h))
	if err != nil {
		return nil, "", err
	}
	if _, err := io.Copy(h, r); err != nil {
		return nil, "", err
	}
	return data, hex.EncodeToString(h.Sum(nil)), nil
}

// readSmall reads a small file of a journal folder, or nil if it is absent.
func (p *Pipeline) readSmall(ctx context.Context, folder, name string) ([]byte, error) {
	r, err := p.openStream(ctx, folder, name)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 64<<10))
}

// moveOut takes a file out of the inbox into a local folder: a rename in
// the local inbox, a copy and a removal from a remote one.
func (p *Pipeline) moveOut(ctx context.Context, folder, name, dstDir string) error {
	dst := filepath.Join(dstDir, name)
	if p.local != "" {
		err := os.Rename(filepath.Join(p.local, folder, name), dst)
		if notFound(err) {
			return nil
		}
		return err
	}
	r, err := p.openStream(ctx, folder, name)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer r.Close()
	local, err := clients.NewLocal(dstDir)
	if err != nil {
		return err
	}
	if err := local.Put(ctx, name, r, -1); err != nil { // temp name, fsync, rename
		return err
	}
	if err := p.store.Remove(ctx, storePath(folder, name)); err != nil && !notFound(err) {
		return err
	}
	return nil
}

// removeFile deletes a file of a journal folder; absent is fine.
func (p *Pipeline) removeFile(ctx context.Context, folder, name string) error {
	err := p.store.Remove(ctx, storePath(folder, name))
	if notFound(err) {
		return nil
	}
	return err
}
