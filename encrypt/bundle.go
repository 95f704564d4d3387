package encrypt

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// BundleOptions describe one bundle to write.
type BundleOptions struct {
	// Name is the bundle name: the payload becomes Name.c4gh and the
	// manifest Name.json. The caller checks it against the name rules.
	Name string
	// JournalNumber is the canonical journal number.
	JournalNumber string
	// Zip is a ready zip file, encrypted byte for byte. Exactly one of Zip
	// and Files is set.
	Zip string
	// Files are packed into a zip in the same stream as the encryption.
	Files []Source
	// Recipients receive the data key; Sender seals the header packets
	// (nil for an ephemeral key).
	Recipients []PublicKey
	Sender     *SecretKey
	// OutDir receives the bundle. Existing outputs are refused unless Force.
	OutDir string
	Force  bool
	// Store turns off compression when packing Files.
	Store bool
	// Progress, if set, is called with the plaintext bytes read so far.
	Progress func(read int64)
	// Engine tunes the segment engine.
	Engine *Options
	// Tool names the writer in the manifest.
	Tool Tool
	// Now returns the creation time; nil means time.Now.
	Now func() time.Time
}

// PayloadName and ManifestName give a bundle's file names.
func PayloadName(bundle string) string  { return bundle + ".c4gh" }
func ManifestName(bundle string) string { return bundle + ".json" }

// WriteBundle writes Name.c4gh and then Name.json into OutDir. Both are
// written under hidden temporary names, synced and renamed; the manifest
// comes last because it marks the bundle complete. On any error nothing
// is left under the final names.
func WriteBundle(ctx context.Context, o BundleOptions) (m *Manifest, err error) {
	payloadPath := filepath.Join(o.OutDir, PayloadName(o.Name))
	manifestPath := filepath.Join(o.OutDir, ManifestName(o.Name))
	if !o.Force {
		for _, p := range []string{payloadPath, manifestPath} {
			if _, err := os.Lstat(p); err == nil {
				return nil, fmt.Errorf("%w: %s (use --force to replace it)", ErrExists, p)
			}
		}
	}
	tmp, err := os.CreateTemp(o.OutDir, "."+PayloadName(o.Name)+".part-")
	if err != nil {
		return nil, err
	}
	out := newPayloadFile(tmp)
	defer func() {
		if err != nil {
			out.Abort()
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if m, err = Seal(ctx, out, o); err != nil {
		return nil, err
	}
	if err := out.Finish(); err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	data, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	if o.Force {
		// The old manifest goes first: until the new one is written, no
		// one may take the new payload for the old bundle.
		if err := os.Remove(manifestPath); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		if err := SyncDir(o.OutDir); err != nil {
			return nil, err
		}
	}
	if err := Publish(tmp.Name(), payloadPath, o.Force); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(manifestPath, data, o.Force); err != nil {
		os.Remove(payloadPath)
		return nil, err
	}
	return m, SyncDir(o.OutDir)
}

// Seal packs the files (or reads the ready zip), encrypts the zip into
// dst and returns the manifest that describes what was written. It
// writes no file of its own: WriteBundle gives it a payload file, and
// siirto send an upload in progress.
func Seal(ctx context.Context, dst io.Writer, o BundleOptions) (*Manifest, error) {
	if (o.Zip == "") == (len(o.Files) == 0) {
		return nil, errors.New("encrypt: give either a ready zip or files to pack")
	}
	var src *os.File
	if o.Zip != "" {
		var err error
		if src, err = openReadyZip(o.Zip); err != nil {
			return nil, err
		}
		defer src.Close()
	}
	w, err := NewWriter(dst, o.Sender, o.Recipients, o.Engine)
	if err != nil {
		return nil, err
	}
	hasListing := false
	if src != nil {
		var read int64
		_, err = io.Copy(w, &progressReader{r: src, n: &read, fn: o.Progress, ctx: ctx})
	} else {
		_, err = Pack(ctx, w, o.Files, PackOptions{Store: o.Store, Progress: o.Progress})
		hasListing = true
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	// Even an ephemeral key is recorded: a verifier checks the header's
	// writer key against it.
	m := &Manifest{
		Format:        Format,
		JournalNumber: o.JournalNumber,
		Created:       now().UTC().Truncate(time.Second),
		Tool:          o.Tool,
		Payload:       sumsOf(PayloadName(o.Name), w.Ciphertext()),
		Plaintext:     sumsOf(o.Name+".zip", w.Plaintext()),
		Sender:        Sender{PublicKey: w.Sender().String(), Ephemeral: o.Sender == nil},
		Listing:       hasListing,
	}
	for _, r := range o.Recipients {
		m.Recipients = append(m.Recipients, Recipient{Fingerprint: r.Fingerprint()})
	}
	return m, nil
}

// PayloadFile is where the payload is written: Finish writes anything
// still buffered and makes the file durable; Abort stops any background
// writing after a failure. Either may be called, once, after which the
// other is a no-op.
type PayloadFile interface {
	io.Writer
	Finish() error
	Abort()
}

// NewPayloadFile writes a payload into f as WriteBundle does: on Linux
// around the page cache (or, where the file system refuses that, through
// it with early writeback), elsewhere through it. Call Finish when done,
// Abort on failure; then close f. The desktop app keeps its copy of the
// payload it sends this way.
func NewPayloadFile(f *os.File) PayloadFile { return newPayloadFile(f) }

// NewBufferedFile writes into f through the page cache, as NewPayloadFile
// does where the file system refuses direct I/O (on Linux with early
// writeback, so that Finish's sync is short), without NewPayloadFile's
// 12 MiB of buffers: for files too small for them, or too many at once.
func NewBufferedFile(f *os.File) PayloadFile { return newBufferedFile(f) }

// openReadyZip opens a zip given as-is and checks its central directory,
// so a password-protected or unsafe zip is refused before encryption.
func openReadyZip(p string) (*os.File, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	zr, err := zip.NewReader(f, st.Size())
	// An unsafe name (ErrInsecurePath under GODEBUG=zipinsecurepath=0)
	// comes with a usable reader; CheckZip reports it as ErrUnsafeName.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrZipInvalid, p, err)
	}
	if _, err := CheckZip(zr, Limits{}); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Publish moves a finished temporary file to its final name. Without
// force it links first, which fails with ErrExists if final appeared
// meanwhile, so a file is never overwritten by a race.
func Publish(tmp, final string, force bool) error {
	if force {
		return os.Rename(tmp, final)
	}
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, final)
		}
		// Some file systems have no hard links; fall back to a checked rename.
		if _, serr := os.Lstat(final); serr == nil {
			return fmt.Errorf("%w: %s", ErrExists, final)
		}
		return os.Rename(tmp, final)
	}
	return os.Remove(tmp)
}

// writeFileAtomic writes data to a temporary name beside path, syncs it
// and publishes it under path.
func writeFileAtomic(path string, data []byte, force bool) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+strings.TrimPrefix(base, ".")+".part-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return Publish(f.Name(), path, force)
}
