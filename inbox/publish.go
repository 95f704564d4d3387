package inbox

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"path"
	"path/filepath"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// publish writes the verified files in dir to the staging store as a
// siirto bundle for the handlers: packed and encrypted to
// StageRecipients in one stream, the header signed with the gateway's
// key, at <folder>/<id>/<name>.c4gh, then its manifest, the marker that
// it is complete. Keys depend only on the bundle, so a retry after a
// crash overwrites, never duplicates. It returns the manifest's URL.
func (p *Pipeline) publish(ctx context.Context, r Record, journal, dir string) (string, error) {
	var files []encrypt.Source
	err := filepath.WalkDir(dir, func(fp string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, fp)
		files = append(files, encrypt.Source{Path: fp, Name: filepath.ToSlash(rel), Info: info})
		return err
	})
	if err != nil {
		return "", verify.AsError(err)
	}
	opts := encrypt.BundleOptions{
		Name: r.Name, JournalNumber: journal, Files: files,
		Recipients: p.cfg.StageRecipients, Sender: p.cfg.Key,
		Tool: encrypt.Tool{Name: "siirto-gateway " + p.cfg.Gateway},
	}
	base := path.Join(r.Folder, r.ID)
	for _, d := range []string{r.Folder, base} { // WebDAV and local folders need their parents
		if err := p.cfg.StageStore.Mkdir(ctx, d); err != nil {
			return "", verify.AsError(err)
		}
	}
	var m *encrypt.Manifest
	err = clients.PutFrom(ctx, p.cfg.StageStore, path.Join(base, encrypt.PayloadName(r.Name)), func(ctx context.Context, w io.Writer) (err error) {
		m, err = encrypt.Seal(ctx, w, opts)
		return err
	})
	if err != nil {
		return "", verify.AsError(err)
	}
	data, err := m.Marshal()
	if err != nil {
		return "", err
	}
	name := path.Join(base, encrypt.ManifestName(r.Name))
	if err := p.cfg.StageStore.Put(ctx, name, bytes.NewReader(data), int64(len(data))); err != nil {
		return "", verify.AsError(err)
	}
	return p.cfg.StageURL + name, nil
}
