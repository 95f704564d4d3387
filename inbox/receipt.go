package inbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// writeReceipt writes the signed receipt into the journal folder (hidden
// temp name, fsync, rename), then tidies the inbox: a rejected bundle's
// files move out to the rejected area, so the uploader can send a fixed
// bundle under the same name; an accepted payload is removed unless
// configured to be kept. Every step can be repeated after a crash.
func (p *Pipeline) writeReceipt(r Record) error {
	rc := verify.Receipt{
		Format:         verify.ReceiptFormat,
		Bundle:         r.Name,
		JournalNumber:  r.Journal,
		ManifestSHA256: r.ID,
		Status:         verify.ReceiptAccepted,
		Time:           p.cfg.Now().UTC(),
		Gateway:        p.cfg.Gateway,
	}
	if r.Outcome == OutcomeRejected {
		rc.Status, rc.Code = verify.ReceiptRejected, verify.Code(r.Code)
		advice := verify.Lookup(rc.Code).Advice
		rc.Advice = &advice
	}
	rc.Payload.Size, rc.Payload.SHA256 = r.PayloadSize, r.PayloadSHA256
	data, err := verify.SignReceipt(&rc, p.cfg.ReceiptKey)
	if err != nil {
		return fmt.Errorf("%w: signing the receipt: %v", ErrPermanent, err)
	}
	dir := p.folderPath(r.Folder)
	if err := writeAtomic(dir, verify.ReceiptName(r.Name), data); err != nil {
		if errors.Is(err, syscall.ENAMETOOLONG) || errors.Is(err, os.ErrNotExist) {
			// An overlong name cannot carry a receipt; the handlers are
			// still told, and the uploader sees no receipt.
			return fmt.Errorf("%w: %v", ErrPermanent, err)
		}
		return err
	}
	if r.Outcome == OutcomeRejected {
		return p.moveRejected(r)
	}
	if !p.cfg.KeepPayload {
		err := os.Remove(filepath.Join(dir, encrypt.PayloadName(r.Name)))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// rejectedDir is where a rejected bundle's files are kept for inspection.
func (p *Pipeline) rejectedDir(r Record) string {
	return filepath.Join(p.cfg.Rejected, r.Folder, r.ID)
}

func (p *Pipeline) moveRejected(r Record) error {
	dst := p.rejectedDir(r)
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	src := p.folderPath(r.Folder)
	for _, name := range []string{encrypt.PayloadName(r.Name), encrypt.ManifestName(r.Name)} {
		// The manifest moves only if it is still this bundle's: a fixed
		// bundle may already have replaced it.
		if name == encrypt.ManifestName(r.Name) {
			if id, err := manifestID(filepath.Join(src, name)); err != nil || id != r.ID {
				continue
			}
		}
		err := os.Rename(filepath.Join(src, name), filepath.Join(dst, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			if errors.Is(err, syscall.ENAMETOOLONG) {
				continue
			}
			return err
		}
	}
	if err := syncDir(src); err != nil {
		return err
	}
	return syncDir(dst)
}

// writeAtomic writes data to dir/name through a hidden temp file, so
// readers see the whole file or none.
func writeAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, ".siirto-receipt-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}
