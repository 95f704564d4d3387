package inbox

import (
	"bytes"
	"context"
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
func (p *Pipeline) writeReceipt(ctx context.Context, r Record) error {
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
	err = p.store.Put(ctx, storePath(r.Folder, verify.ReceiptName(r.Name)), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if errors.Is(err, syscall.ENAMETOOLONG) || notFound(err) {
			// An overlong name cannot carry a receipt; the handlers are
			// still told, and the uploader sees no receipt.
			return fmt.Errorf("%w: %v", ErrPermanent, err)
		}
		return err
	}
	if r.Outcome == OutcomeRejected {
		return p.moveRejected(ctx, r)
	}
	if !p.cfg.KeepPayload {
		return p.removeFile(ctx, r.Folder, encrypt.PayloadName(r.Name))
	}
	return nil
}

// rejectedDir is where a rejected bundle's files are kept for inspection.
func (p *Pipeline) rejectedDir(r Record) string {
	return filepath.Join(p.cfg.Rejected, r.Folder, r.ID)
}

func (p *Pipeline) moveRejected(ctx context.Context, r Record) error {
	dst := p.rejectedDir(r)
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	// The manifest moves only if it is still this bundle's: a fixed
	// bundle may already have replaced it (and then its payload too).
	_, id, err := p.readManifest(ctx, r.Folder, encrypt.ManifestName(r.Name))
	if err != nil && !notFound(err) {
		return err
	}
	if err == nil && id != r.ID {
		return nil
	}
	for _, name := range []string{encrypt.PayloadName(r.Name), encrypt.ManifestName(r.Name)} {
		if err := p.moveOut(ctx, r.Folder, name, dst); err != nil && !errors.Is(err, syscall.ENAMETOOLONG) {
			return err
		}
	}
	return encrypt.SyncDir(dst)
}
