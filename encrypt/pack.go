package encrypt

import (
	"archive/zip"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Source is one file to pack: where it is on disk and its name in the zip.
type Source struct {
	Path string // on disk
	Name string // in the zip, slash-separated
	Info fs.FileInfo
	// Open, if set, reads the file instead of Path: the desktop app
	// streams files from the browser, which gives bytes, not paths. Info
	// then needs only Size and ModTime.
	Open func() (io.ReadCloser, error)
}

// junk files that desktops leave in folders; packing skips them.
var junk = map[string]bool{".DS_Store": true, "Thumbs.db": true, "desktop.ini": true, "__MACOSX": true}

// IsJunk reports whether a file or folder name is desktop clutter that
// packing leaves out (.DS_Store, Thumbs.db, desktop.ini, __MACOSX).
func IsJunk(name string) bool { return junk[name] }

// IsJunkPath reports whether a slash-separated path in the zip is, or is
// inside, desktop clutter: what packing a folder leaves out.
func IsJunkPath(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if junk[part] {
			return true
		}
	}
	return false
}

// Names checks the names of the files of one zip as they are added: each
// by CheckEntryName, none in the reserved .siirto folder, and no two the
// same, also when they differ only in case or Unicode form (they would
// overwrite each other on Windows and macOS). The zero value is ready.
type Names struct{ seen map[string]string }

// Add checks name, the file's name in the zip; from says where the file
// came from, in an error about a duplicate.
func (n *Names) Add(name, from string) error {
	if err := CheckEntryName(name); err != nil {
		return err
	}
	if name == ListingName || strings.HasPrefix(name, ".siirto/") {
		return fmt.Errorf("%w: %q: the .siirto folder name is reserved", ErrUnsafeName, name)
	}
	if n.seen == nil {
		n.seen = map[string]string{}
	}
	key := FoldName(name)
	if prev, ok := n.seen[key]; ok {
		return fmt.Errorf("%w: %q and %q", ErrDuplicate, prev, from)
	}
	n.seen[key] = from
	return nil
}

// Plan lists the files to pack from inputs (files and folders). A file is
// packed under its base name, a folder's files under the folder's name.
// It refuses symlinks, unsafe names and names that collide, also when
// they differ only in case (they would overwrite each other on Windows
// and macOS). Skipped desktop junk is returned in skipped.
func Plan(inputs []string) (files []Source, skipped []string, err error) {
	var names Names
	add := func(p, name string, info fs.FileInfo) error {
		if err := names.Add(name, p); err != nil {
			return err
		}
		files = append(files, Source{Path: p, Name: name, Info: info})
		return nil
	}
	for _, in := range inputs {
		info, err := os.Lstat(in)
		if err != nil {
			return nil, nil, err
		}
		base := filepath.Base(filepath.Clean(in))
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			return nil, nil, fmt.Errorf("%w: %s", ErrSymlink, in)
		case info.Mode().IsRegular():
			if err := add(in, base, info); err != nil {
				return nil, nil, err
			}
		case info.IsDir():
			root := filepath.Clean(in)
			err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if junk[d.Name()] {
					skipped = append(skipped, p)
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.Type()&fs.ModeSymlink != 0 {
					return fmt.Errorf("%w: %s", ErrSymlink, p)
				}
				if d.IsDir() {
					return nil
				}
				if !d.Type().IsRegular() {
					return fmt.Errorf("%w: %s is not a regular file", ErrUnsafeName, p)
				}
				rel, err := filepath.Rel(root, p)
				if err != nil {
					return err
				}
				fi, err := d.Info()
				if err != nil {
					return err
				}
				return add(p, path.Join(base, filepath.ToSlash(rel)), fi)
			})
			if err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, fmt.Errorf("%w: %s is not a regular file or folder", ErrUnsafeName, in)
		}
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("no files to pack in %s", strings.Join(inputs, ", "))
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, skipped, nil
}

// PackOptions tune Pack.
type PackOptions struct {
	// Store disables compression. By default files are deflated at the
	// fastest level, except those whose names say they are compressed.
	Store bool
	// Progress, if set, is called with the bytes read so far.
	Progress func(read int64)
}

var compressed = map[string]bool{".zip": true, ".gz": true, ".tgz": true, ".bz2": true, ".xz": true,
	".zst": true, ".7z": true, ".rar": true, ".jpg": true, ".jpeg": true, ".png": true, ".mp4": true,
	".mkv": true, ".c4gh": true, ".gpg": true, ".parquet": true, ".docx": true, ".xlsx": true}

// Pack streams a zip of files to w, ending with the listing entry that
// records each file's path, size and SHA-256. The zip is written in one
// pass (Zip64 where needed, so no 4 GB cap); nothing touches the disk.
func Pack(ctx context.Context, w io.Writer, files []Source, opts PackOptions) (*Listing, error) {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	listing := &Listing{Format: ListingFormat, Files: make([]ListedFile, 0, len(files))}
	var read int64
	buf := make([]byte, 1<<20)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		method := zip.Deflate
		if opts.Store || compressed[strings.ToLower(path.Ext(f.Name))] {
			method = zip.Store
		}
		hdr := &zip.FileHeader{Name: f.Name, Method: method, Modified: f.Info.ModTime().UTC()}
		hdr.SetMode(0o600)
		ew, err := zw.CreateHeader(hdr)
		if err != nil {
			return nil, err
		}
		in, err := openSource(f)
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		n, err := io.CopyBuffer(io.MultiWriter(ew, h), &progressReader{r: in, n: &read, fn: opts.Progress, ctx: ctx}, buf)
		in.Close()
		if err != nil {
			return nil, fmt.Errorf("packing %s: %w", f.Path, err)
		}
		if n != f.Info.Size() {
			return nil, fmt.Errorf("packing %s: the file changed size while it was read (%d, then %d bytes)", f.Path, f.Info.Size(), n)
		}
		listing.Files = append(listing.Files, ListedFile{Path: f.Name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	lhdr := &zip.FileHeader{Name: ListingName, Method: zip.Deflate, Modified: time.Now().UTC()}
	lhdr.SetMode(0o600)
	lw, err := zw.CreateHeader(lhdr)
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(lw)
	enc.SetIndent("", " ")
	if err := enc.Encode(listing); err != nil {
		return nil, err
	}
	return listing, zw.Close()
}

// openSource opens a file to pack.
func openSource(f Source) (io.ReadCloser, error) {
	if f.Open != nil {
		return f.Open()
	}
	in, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	// Plan saw this file with Lstat; if it was replaced (by a link to
	// something else, say) since, the open file is another one.
	if st, err := in.Stat(); err != nil || !os.SameFile(st, f.Info) {
		in.Close()
		return nil, fmt.Errorf("%w: %s was replaced while it was being packed", ErrSymlink, f.Path)
	}
	return in, nil
}

// progressReader counts bytes into *n and reports them, and stops a long
// copy when ctx is cancelled.
type progressReader struct {
	r   io.Reader
	n   *int64
	fn  func(int64)
	ctx context.Context
}

func (p *progressReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	*p.n += int64(n)
	if p.fn != nil && n > 0 {
		p.fn(*p.n)
	}
	return n, err
}
