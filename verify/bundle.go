package verify

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"runtime"

	"github.com/siirto/siirto/encrypt"
)

// Bundle is what a verifier is given: the facts of the journal folder and
// the bundle's two files. It names no storage, so the client and the
// gateway check local files, WebDAV and S3 objects with the same code.
type Bundle struct {
	// Name is the bundle name: the manifest is Name.json.
	Name string
	// Folder is the journal folder's name, or "" when the bundle is not in
	// a journal folder.
	Folder string
	// JournalFile holds the folder's journal_number.txt, or nil if absent.
	JournalFile []byte
	// Manifest holds the manifest file.
	Manifest []byte
	// Payload reads the .c4gh file, or is nil when it is missing. If it is
	// also an io.ReaderAt (a local file), with PayloadSize known, it may be
	// read at any offset, from its start, rather than from where it stands.
	Payload io.Reader
	// PayloadSize is the payload's size if known (a stat), or -1.
	PayloadSize int64
}

// Options select the checks beyond the ones that need no secrets.
type Options struct {
	// Key, when set, decrypts the payload and checks the plaintext.
	Key *encrypt.SecretKey
	// Recipients must each be among the bundle's recipients.
	Recipients []encrypt.PublicKey
	// Senders, when not empty, lists the only writer keys accepted; an
	// ephemeral sender is then refused.
	Senders []encrypt.PublicKey
	// Plaintext receives the decrypted zip (with Key). If it is an
	// *os.File, the zip's entries and inner listing are checked too. Leave
	// it nil to have them checked (and extracted, with ExtractTo) without
	// keeping the zip: for a payload that is an io.ReaderAt of known size
	// the files are read straight from the decrypted stream and the zip is
	// never written (see decryptStream); otherwise, and for the rare zip
	// that must be read as a file, a private temporary file in WorkDir is
	// used and removed.
	Plaintext io.Writer
	// WorkDir is where that private temporary file is made; "" means the
	// system's temporary folder. A service that must keep plaintext in one
	// place points it there.
	WorkDir string
	// ExtractTo, with Key, is a folder (that must not exist) to extract
	// the files into, atomically, once every check has passed.
	ExtractTo string
	// HeaderOnly, without Key, reads the payload only up to the end of its
	// header: everything but the payload's SHA-256 is checked. siirto
	// upload uses it and hashes the payload while sending it instead.
	HeaderOnly bool
	// Limits bound the zip's expansion.
	Limits encrypt.Limits
	// Engine tunes decryption.
	Engine *encrypt.Options
}

// Result reports what was checked.
type Result struct {
	Manifest *encrypt.Manifest
	// Journal is the journal number, agreed by all sources that were present.
	Journal string
	// Decrypted is true when the payload was decrypted and its plaintext
	// checksum matched.
	Decrypted bool
	// Files lists the files inside, when the zip was read.
	Files []encrypt.ListedFile
}

// Check verifies a bundle. Without a key it checks the names, the
// manifest, the journal number against the folder and journal_number.txt,
// the recipients and sender, the header and the payload checksum. With a
// key it also decrypts, checks the plaintext checksum, the zip and the
// inner listing. The payload is read once.
func Check(ctx context.Context, b Bundle, o Options) (*Result, error) {
	if err := CheckName(b.Name); err != nil {
		return nil, err
	}
	m, err := ParseManifest(b.Manifest)
	if err != nil {
		return nil, err
	}
	res := &Result{Manifest: m}
	if m.Payload.Name != encrypt.PayloadName(b.Name) {
		return res, Errorf(CodeNameMismatch, "%s describes %s, not %s", encrypt.ManifestName(b.Name), m.Payload.Name, encrypt.PayloadName(b.Name))
	}
	if res.Journal, err = checkJournals(b, m); err != nil {
		return res, err
	}
	if err := checkKeys(m, o); err != nil {
		return res, err
	}
	if b.Payload == nil {
		return res, Errorf(CodePayloadMissing, "%s is missing", m.Payload.Name)
	}
	if b.PayloadSize >= 0 && b.PayloadSize < m.Payload.Size {
		return res, Errorf(CodeTruncated, "%s is %d bytes; the manifest says %d", m.Payload.Name, b.PayloadSize, m.Payload.Size)
	}
	if b.PayloadSize > m.Payload.Size {
		return res, Errorf(CodeChecksumMismatch, "%s is %d bytes; the manifest says %d", m.Payload.Name, b.PayloadSize, m.Payload.Size)
	}
	// A payload of unknown size (a stream) is counted as it is read, so
	// that a failure is judged by its length as a known size is above.
	var counted *countReader
	if b.PayloadSize < 0 {
		counted = &countReader{r: b.Payload}
		b.Payload = counted
	}
	switch {
	case o.Key == nil && o.HeaderOnly:
		_, err = readHeader(b.Payload, m)
	case o.Key == nil:
		err = checkCiphertext(ctx, b.Payload, m)
	default:
		err = decrypt(ctx, b, m, o, res)
	}
	if err != nil && counted != nil {
		err = judgeLength(counted, m, err)
	}
	return res, err
}

// judgeLength gives a failed payload of unknown size the verdict Check
// gives a known size up front: shorter than the manifest says is
// E_TRUNCATED, longer is E_CHECKSUM_MISMATCH. Otherwise the same bundle
// would get another code when streamed; a cut-off upload, for one, would
// be "not Crypt4GH", whose advice (never upload unencrypted data) misleads.
func judgeLength(cr *countReader, m *encrypt.Manifest, err error) error {
	switch CodeOf(err) {
	case CodeNotCrypt4GH, CodeHeaderInvalid, CodeTampered:
	default:
		return err // already judged by length, or not about the bytes
	}
	// One byte past the manifest's size decides; a huge stream that is not
	// the promised payload is not read to its end.
	if _, rerr := io.Copy(io.Discard, io.LimitReader(cr, m.Payload.Size-cr.n+1)); rerr != nil {
		return err
	}
	switch {
	case cr.n < m.Payload.Size:
		return Errorf(CodeTruncated, "%s ends after %d of %d bytes: %w", m.Payload.Name, cr.n, m.Payload.Size, err)
	case cr.n > m.Payload.Size:
		return Errorf(CodeChecksumMismatch, "%s is %d bytes; the manifest says %d: %w", m.Payload.Name, cr.n, m.Payload.Size, err)
	}
	return err
}

func checkJournals(b Bundle, m *encrypt.Manifest) (string, error) {
	j := m.JournalNumber
	if b.Folder != "" {
		fj, err := JournalFromFolder(b.Folder)
		if err != nil {
			return j, err
		}
		if fj != j {
			return j, Errorf(CodeJournalMismatch, "the bundle is for journal number %s, but the folder %s is for %s", j, b.Folder, fj)
		}
	}
	if b.JournalFile != nil {
		tj, err := ParseJournalFile(b.JournalFile)
		if err != nil {
			return j, err
		}
		if tj != j {
			return j, Errorf(CodeJournalMismatch, "the bundle is for journal number %s, but %s says %s", j, JournalFile, tj)
		}
	}
	return j, nil
}

func checkKeys(m *encrypt.Manifest, o Options) error {
	for _, want := range o.Recipients {
		found := false
		for _, r := range m.Recipients {
			found = found || r.Fingerprint == want.Fingerprint()
		}
		if !found {
			return Errorf(CodeRecipientMissing, "the bundle is not encrypted to %s", want.Fingerprint())
		}
	}
	if len(o.Senders) > 0 {
		if m.Sender.Ephemeral {
			return Errorf(CodeSenderUnknown, "the bundle was sealed with a one-time key, and a registered sender key is required")
		}
		for _, s := range o.Senders {
			if s.String() == m.Sender.PublicKey {
				return nil
			}
		}
		pk, _ := encrypt.ParsePublicKeyString(m.Sender.PublicKey)
		return Errorf(CodeSenderUnknown, "the sender key %s is not registered", pk.Fingerprint())
	}
	return nil
}

// checkHeader compares the header with the manifest: one packet per
// recipient, every packet sealed by the manifest's sender key.
func checkHeader(h *encrypt.Header, m *encrypt.Manifest) error {
	if len(h.Packets) != len(m.Recipients) {
		return Errorf(CodeHeaderInvalid, "the header has %d packets for %d recipients", len(h.Packets), len(m.Recipients))
	}
	for i, p := range h.Packets {
		if p.Writer.String() != m.Sender.PublicKey {
			named, _ := encrypt.ParsePublicKeyString(m.Sender.PublicKey) // checked by ParseManifest
			return Errorf(CodeSenderMismatch, "header packet %d is sealed by %s, the manifest names %s", i, p.Writer.Fingerprint(), named.Fingerprint())
		}
	}
	return nil
}

// readHeader reads the payload's header and compares it with the manifest.
func readHeader(payload io.Reader, m *encrypt.Manifest) (*encrypt.Header, error) {
	hdr, err := encrypt.ParseHeader(payload)
	if err != nil {
		return nil, AsError(err)
	}
	return hdr, checkHeader(hdr, m)
}

func checkCiphertext(ctx context.Context, payload io.Reader, m *encrypt.Manifest) error {
	h := sha256.New()
	tee := io.TeeReader(payload, h)
	hdr, err := readHeader(tee, m)
	if err != nil {
		return err
	}
	n, err := io.Copy(&ctxWriter{ctx: ctx, w: io.Discard}, tee)
	if err != nil {
		return AsError(err)
	}
	return compareSums(m.Payload, hdr.Size+n, h.Sum(nil))
}

func compareSums(want encrypt.FileSums, size int64, sum []byte) error {
	if size < want.Size {
		return Errorf(CodeTruncated, "%s is %d bytes; the manifest says %d", want.Name, size, want.Size)
	}
	if size != want.Size {
		return Errorf(CodeChecksumMismatch, "%s is %d bytes; the manifest says %d", want.Name, size, want.Size)
	}
	if got := hex.EncodeToString(sum); got != want.SHA256 {
		return Errorf(CodeChecksumMismatch, "the SHA-256 of %s is %s; the manifest says %s", want.Name, got, want.SHA256)
	}
	return nil
}

func decrypt(ctx context.Context, b Bundle, m *encrypt.Manifest, o Options, res *Result) error {
	if ra, ok := streams(b, o); ok {
		if err := decryptStream(ctx, ra, b.PayloadSize, m, o, res); err != errNoStream {
			return err
		}
		// Only the header and the zip's end were read, at their offsets.
	}
	r, err := encrypt.NewReader(b.Payload, *o.Key, o.Engine)
	if err != nil {
		return AsError(err)
	}
	defer r.Close()
	if err := checkHeader(r.Header(), m); err != nil {
		return err
	}
	sink := o.Plaintext
	if sink == nil {
		tmp, err := privateTemp(o.WorkDir)
		if err != nil {
			return AsError(err)
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		sink = tmp
	}
	if _, err := r.WriteTo(&ctxWriter{ctx: ctx, w: sink}); err != nil {
		// A payload of known size was compared with the manifest before
		// decrypting; Check judges a streamed one by its length.
		return AsError(err)
	}
	if err := checkSums(r, m, res); err != nil {
		return err
	}
	f, ok := sink.(*os.File)
	if !ok {
		return nil
	}
	zr, err := zip.NewReader(f, r.Plaintext().Size)
	// With GODEBUG=zipinsecurepath=0, archive/zip flags unsafe names but
	// still returns a usable reader; Unpack's own name check then reports
	// them as E_ENTRY_INVALID, so the code does not depend on the setting.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return Errorf(CodeZipInvalid, "the decrypted payload is not a zip: %v", err)
	}
	accept := func(u *encrypt.Unpacked) error { return CheckListing(m, u) }
	u, err := encrypt.Unpack(ctx, zr, o.ExtractTo, o.Limits, accept)
	if err != nil {
		return AsError(err)
	}
	res.Files = u.Files
	return nil
}

// CheckListing compares the files read from a zip with its inner listing.
func CheckListing(m *encrypt.Manifest, u *encrypt.Unpacked) error {
	switch {
	case !m.Listing && u.Listing == nil:
		return nil
	case !m.Listing:
		return Errorf(CodeListingMismatch, "the zip holds a listing, but the manifest says it has none")
	case u.Listing == nil:
		return Errorf(CodeListingInvalid, "the manifest promises an inner listing, and the zip has none")
	}
	listed := make(map[string]encrypt.ListedFile, len(u.Listing.Files))
	for _, f := range u.Listing.Files {
		if _, dup := listed[f.Path]; dup {
			return Errorf(CodeListingInvalid, "the listing names %q twice", f.Path)
		}
		listed[f.Path] = f
	}
	for _, f := range u.Files {
		l, ok := listed[f.Path]
		switch {
		case !ok:
			return Errorf(CodeListingMismatch, "a file in the zip is not in the listing")
		case l.Size != f.Size || l.SHA256 != f.SHA256:
			return Errorf(CodeListingMismatch, "a file's size or SHA-256 differs from the listing")
		}
		delete(listed, f.Path)
	}
	if len(listed) > 0 {
		// Inner names are not printed: they may themselves be sensitive.
		return Errorf(CodeListingMismatch, "%d listed files are missing from the zip", len(listed))
	}
	return nil
}

// privateTemp makes a temporary file in dir ("" for the system's) only
// the user can read, for plaintext that must be checked but not kept.
// Where the system allows it (not Windows) the name is removed at once:
// the open file still works, and nothing is left behind even if the
// process is killed.
func privateTemp(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, ".siirto-verify-*.zip")
	if err == nil && runtime.GOOS != "windows" {
		_ = os.Remove(f.Name())
	}
	return f, err
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ctxWriter stops a long copy when ctx is cancelled.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
