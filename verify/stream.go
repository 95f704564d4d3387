package verify

import (
	"context"
	"errors"
	"io"

	"github.com/siirto/siirto/encrypt"
)

// errNoStream says decryptStream cannot be used for this payload; decrypt
// then takes the path through a plaintext zip file.
var errNoStream = errors.New("verify: the payload must be decrypted into a zip file first")

// streams reports whether decrypt can check (and extract, with
// ExtractTo) straight from the decrypted stream: a payload of known size
// that can be read at any offset (a local file), and no Plaintext asked
// for. Then no plaintext zip is ever written.
func streams(b Bundle, o Options) (io.ReaderAt, bool) {
	ra, ok := b.Payload.(io.ReaderAt)
	return ra, ok && b.PayloadSize >= 0 && o.Plaintext == nil
}

// decryptStream decrypts and extracts without ever writing the plaintext
// zip: a first pass decrypts only the segments holding the zip's central
// directory (at its end); a second decrypts the payload from the start
// and extracts each entry as it passes (encrypt.StreamUnpack).
//
// The verdicts are decrypt's, in decrypt's order: a damaged payload
// first, then the payload's and the plaintext's sums, then the zip and
// the listing. So a fault found in the zip, in either pass, is held back
// while the rest of the payload is decrypted and its sums compared. It
// returns errNoStream, having read only the payload's header and end,
// for what only the zip file path reads (an edit list, a central
// directory over encrypt.MaxZipTail, a zip whose offsets are shifted).
func decryptStream(ctx context.Context, payload io.ReaderAt, size int64, m *encrypt.Manifest, o Options, res *Result) error {
	rr, err := encrypt.NewRangeReader(payload, size, *o.Key)
	if errors.Is(err, encrypt.ErrNoRandomAccess) {
		return errNoStream
	}
	if err != nil {
		return AsError(err)
	}
	if err := checkHeader(rr.Header(), m); err != nil {
		return err
	}
	tail, zipErr := readTail(rr, m)
	if errors.Is(zipErr, encrypt.ErrNoRandomAccess) {
		return errNoStream
	}

	r, err := encrypt.NewReader(io.NewSectionReader(payload, 0, size), *o.Key, o.Engine)
	if err != nil {
		return AsError(err)
	}
	defer r.Close()
	src := &ctxReader{ctx: ctx, r: r}
	var verdict error // from accept: the sums or the listing
	if zipErr == nil {
		accept := func(u *encrypt.Unpacked) error {
			if verdict = checkSums(r, m, res); verdict == nil {
				verdict = CheckListing(m, u)
			}
			return verdict
		}
		var u *encrypt.Unpacked
		u, zipErr = encrypt.StreamUnpack(ctx, tail, src, o.ExtractTo, o.Limits, accept)
		switch {
		case zipErr == nil:
			res.Files = u.Files
			return nil
		case verdict != nil:
			return verdict
		}
	}
	// The zip failed: the rest of the payload still decides first.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return AsError(err)
	}
	if err := checkSums(r, m, res); err != nil {
		return err
	}
	return AsError(zipErr)
}

// readTail reads the zip's central directory from the end of the
// plaintext, whose size the ciphertext's size and the manifest must agree
// on (if not, the plaintext sums will say so).
func readTail(rr *encrypt.RangeReader, m *encrypt.Manifest) (*encrypt.ZipTail, error) {
	size, err := rr.Size()
	if err != nil {
		return nil, err
	}
	if size != m.Plaintext.Size {
		return nil, Errorf(CodeChecksumMismatch, "the payload holds %d bytes of plaintext; the manifest says %d", size, m.Plaintext.Size)
	}
	return encrypt.ReadZipTail(rr, size)
}

// checkSums compares a finished Reader's sums with the manifest's, and
// marks the payload decrypted when they agree.
func checkSums(r *encrypt.Reader, m *encrypt.Manifest, res *Result) error {
	c, p := r.Ciphertext(), r.Plaintext()
	if err := compareSums(m.Payload, c.Size, c.SHA256[:]); err != nil {
		return err
	}
	if err := compareSums(m.Plaintext, p.Size, p.SHA256[:]); err != nil {
		return err
	}
	res.Decrypted = true
	return nil
}

// ctxReader stops a long read when ctx is cancelled. (A damaged payload
// fails again in the drain after a zip error: the Reader's error sticks.)
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
