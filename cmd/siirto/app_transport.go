package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/siirto/siirto/app"
	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// appTransport does the app's work with the same code as the commands:
// openTarget's checks, send's one-pass stream, upload's resuming
// uploader, status's receipt check.
type appTransport struct {
	cfg        *config
	recipients []encrypt.PublicKey
	tool       encrypt.Tool
}

// resolve is the login's target: one from the configuration file, or
// the address typed in.
func (a *appTransport) resolve(l app.Login) (target, clients.Credentials, error) {
	t := target{URL: l.URL, User: l.User}
	if l.Target != "" {
		var ok bool
		if t, ok = a.cfg.Targets[l.Target]; !ok {
			return t, clients.Credentials{}, verify.Errorf(verify.CodeTargetInvalid, "no target %q in the configuration file", l.Target)
		}
	}
	cred := clients.Credentials{User: t.User, Password: l.Password}
	if cred.Password == "" && t.PasswordFile != "" {
		p, err := os.ReadFile(t.PasswordFile)
		if err != nil {
			return t, cred, err
		}
		cred.Password = strings.TrimRight(string(p), "\r\n")
	}
	return t, cred, nil
}

// open opens the store at folder (the target's own address if empty).
// resumable: as for openTarget.
func (a *appTransport) open(ctx context.Context, l app.Login, folder string, resumable bool) (clients.Store, error) {
	t, cred, err := a.resolve(l)
	if err != nil {
		return nil, err
	}
	if folder == "" {
		folder = t.URL
	}
	if _, err := clients.CheckTarget(folder); err != nil {
		return nil, err
	}
	store, err := clients.OpenWith(ctx, folder, clients.OpenOptions{Credentials: cred, ChunkSize: clients.DefaultChunkSize,
		S3: clients.S3Options{Endpoint: t.Endpoint, Region: t.Region, Profile: t.Profile, PartSize: 16 << 20, Concurrency: 4, NoResume: !resumable}})
	if errors.Is(err, clients.ErrNotFound) {
		return nil, verify.Errorf(verify.CodeFolderMissing, "the folder %s does not exist", folder)
	}
	return store, err
}

// Connect implements app.Transport.
func (a *appTransport) Connect(ctx context.Context, l app.Login) ([]app.Folder, error) {
	t, _, err := a.resolve(l)
	if err != nil {
		return nil, err
	}
	if t.URL == "" {
		return nil, verify.Errorf(verify.CodeTargetInvalid, "give the transfer service's address")
	}
	store, err := a.open(ctx, l, t.URL, false)
	if err != nil {
		return nil, err
	}
	journal, err := remoteJournal(ctx, store, t.URL)
	if err == nil {
		return []app.Folder{{URL: t.URL, Name: clients.Base(t.URL), Journal: journal}}, nil
	}
	if verify.CodeOf(err) != verify.CodeFolderMissing {
		return nil, err
	}
	// Not a journal folder: perhaps the folder that holds the user's.
	entries, lerr := store.List(ctx, "")
	if lerr != nil {
		return nil, err
	}
	var folders []app.Folder
	for _, e := range entries {
		if _, jerr := verify.JournalFromFolder(e.Name); !e.Dir || jerr != nil {
			continue // not named like a journal folder: not worth a read
		}
		data, rerr := readStoreFile(ctx, store, e.Name+"/"+verify.JournalFile, maxJournalFile)
		if rerr != nil {
			continue
		}
		if j, jerr := folderJournal(data, e.Name); jerr == nil {
			folders = append(folders, app.Folder{URL: strings.TrimSuffix(t.URL, "/") + "/" + url.PathEscape(e.Name) + "/", Name: e.Name, Journal: j})
		}
	}
	if len(folders) == 0 {
		return nil, verify.Errorf(verify.CodeFolderMissing, "%s is not a journal folder and holds none", t.URL)
	}
	return folders, nil
}

// Send implements app.Transport: siirto send's one pass, with the
// encrypted stream also written to b.Dir. The upload failing does not
// stop the encryption, so the copy is whole and Upload can resume.
func (a *appTransport) Send(ctx context.Context, l app.Login, f app.Folder, b app.Bundle) ([]byte, error) {
	store, err := a.open(ctx, l, f.URL, false)
	if err != nil {
		return nil, err
	}
	// The folder is read again: the journal number the user confirmed
	// must still be the folder's.
	if journal, err := remoteJournal(ctx, store, f.URL); err != nil {
		return nil, err
	} else if journal != f.Journal {
		return nil, verify.Errorf(verify.CodeJournalMismatch, "the folder now holds journal number %s, not %s: nothing was sent", journal, f.Journal)
	}
	pName := encrypt.PayloadName(b.Name)
	if err := nameFree(ctx, store, b.Name, ""); err != nil {
		return nil, err
	}
	copyFile, err := os.OpenFile(filepath.Join(b.Dir, pName), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer copyFile.Close()
	// The copy is read again only if the upload breaks: it is written as
	// encrypt writes payloads, around the page cache, so a gigabyte of
	// dirty cache does not slow the whole machine before the final sync
	// (1 GiB on 2 cores: 10.0 s through the app with a plain file and one
	// fsync at the end, 6.4 s with early writeback; make bench's app run).
	copyOut := encrypt.NewPayloadFile(copyFile)
	opts := encrypt.BundleOptions{Name: b.Name, JournalNumber: f.Journal, Files: b.Files, Recipients: a.recipients,
		Progress: b.Read, Tool: a.tool}
	// A Nextcloud upload reads a chunk ahead of the one it sends, so the
	// encryption (and the browser's stream, which is slow to pick up
	// again) does not stop at every chunk.
	pr, pw := io.Pipe()
	var m *encrypt.Manifest
	sealed := make(chan error, 1)
	go func() {
		var err error
		m, err = encrypt.Seal(ctx, io.MultiWriter(copyOut, &lenientWriter{w: pw}), opts)
		pw.CloseWithError(err)
		sealed <- err
	}()
	// As clients.PutFrom does: from a bare pipe a plain PUT's body goes
	// out in 32 KiB writes, through 1 MiB of buffer a megabyte at a time.
	body := &countingReader{r: bufio.NewReaderSize(pr, 1<<20), fn: b.Sent}
	putErr := store.Put(ctx, pName, body, -1)
	pr.CloseWithError(errUploadStopped) // the encryption goes on into the copy
	if err := <-sealed; err != nil {
		copyOut.Abort()
		return nil, err
	}
	if err := copyOut.Finish(); err != nil {
		return nil, err
	}
	data, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(b.Dir, encrypt.ManifestName(b.Name)), data, 0o600); err != nil {
		return nil, err
	}
	if putErr != nil {
		return data, putErr
	}
	once := func(op func() error) error { return op() }
	return data, finishBundle(ctx, store, b.Name, m.Payload.Size, data, once)
}

// errUploadStopped tells the encryption that the upload reads no more.
var errUploadStopped = errors.New("the upload stopped")

// lenientWriter passes writes on until the first error, then swallows
// the rest: the upload may break, the encryption into the copy goes on.
type lenientWriter struct {
	w   io.Writer
	err error
}

func (l *lenientWriter) Write(p []byte) (int, error) {
	if l.err == nil {
		_, l.err = l.w.Write(p)
	}
	return len(p), nil
}

// Upload implements app.Transport with siirto upload's uploader: it
// resumes on Nextcloud and S3, retries, and skips a bundle already there.
func (a *appTransport) Upload(ctx context.Context, l app.Login, f app.Folder, dir, name string, sent func(int64)) error {
	store, err := a.open(ctx, l, f.URL, true)
	if err != nil {
		return err
	}
	lb := localBundle{dir: dir, name: name}
	manifest, err := os.ReadFile(lb.manifestPath())
	if err != nil {
		return err
	}
	m, err := verify.ParseManifest(manifest)
	if err != nil {
		return err
	}
	up := &uploader{store: store, retries: 4, progress: sent}
	_, err = up.bundle(ctx, checkedBundle{localBundle: lb, manifest: manifest, m: m})
	return err
}

// Receipts implements app.Transport with siirto status's checks: the
// store and the receipt key are opened here once, not at every poll.
func (a *appTransport) Receipts(ctx context.Context, l app.Login, f app.Folder) (app.ReadReceipt, error) {
	t, _, err := a.resolve(l)
	if err != nil {
		return nil, err
	}
	store, err := a.open(ctx, l, f.URL, false)
	if err != nil {
		return nil, err
	}
	key, _, err := loadReceiptKey(ctx, store, t.ReceiptKey)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, name string, manifest []byte) (*verify.Receipt, error) {
		rc, _, err := readReceipt(ctx, store, name, manifest, key)
		return rc, err
	}, nil
}

// Encrypt implements app.Transport: siirto encrypt into b.Dir.
func (a *appTransport) Encrypt(ctx context.Context, b app.Bundle) ([]byte, error) {
	m, err := encrypt.WriteBundle(ctx, encrypt.BundleOptions{Name: b.Name, JournalNumber: b.Journal, Files: b.Files,
		Recipients: a.recipients, OutDir: b.Dir, Progress: b.Read, Tool: a.tool})
	if err != nil {
		return nil, err
	}
	return m.Marshal()
}
