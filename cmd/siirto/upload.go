package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func uploadCommand(env *environment) *cli.Command {
	return &cli.Command{
		Name:      "upload",
		Usage:     "send bundles into the journal folder on the transfer service",
		ArgsUsage: "BUNDLE...",
		Description: `Sends each bundle (NAME.json, NAME.c4gh, NAME or a folder of bundles) to
the journal folder --to names, over WebDAV (Nextcloud), to S3, or to a
local folder:

   https://cloud.example.fi/remote.php/dav/files/alice/THL_1234_14.02.00_2023/
   s3://extracts/inbox/THL_1234_14.02.00_2023/   (with --endpoint for MinIO, Ceph, Allas)
   file:///mnt/transfer/THL_1234_14.02.00_2023/

Before sending a byte, siirto reads the folder's journal_number.txt and
refuses a bundle made for another journal number (E_JOURNAL_MISMATCH), or
a folder that does not exist (E_FOLDER_MISSING). Each bundle is checked
locally as siirto verify would. The payload goes up first under a hidden
name and is moved into place when complete; its size on the server is
checked; the manifest goes last, marking the bundle complete for the
authority. Network failures and server errors are retried with backoff.

Large files resume: on Nextcloud they go up in chunks (chunked upload v2),
on S3 in multipart parts, and a rerun after a crash, a lost connection or
Ctrl-C sends only what is missing. On S3, Ctrl-C abandons the parts unless
--keep-partial. Running the same upload again is safe: bundles already
there are skipped. A different bundle under the same name is refused
(E_EXISTS).

S3 keys come from the standard AWS chain (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, or --profile from ~/.aws).

The user name comes from --user, SIIRTO_USER, the target in the config
file, or the URL (https://alice@…); the password from --password-file,
SIIRTO_PASSWORD, the target's password_file, or a prompt, never from the
command line. For Nextcloud, use an app password. A target in the
configuration file (siirto --help names it) saves typing:

   [targets.findata]
   url = "https://cloud.example.fi/remote.php/dav/files/alice/2022_53/"
   user = "alice"
   password_file = "/home/alice/.config/siirto/findata.pass"

   siirto upload --to findata cohort.json

   SIIRTO_PASSWORD_FILE=~/.siirto-pass siirto upload --user alice \
     --to https://cloud.example.fi/remote.php/dav/files/alice/2022_53/ cohort.json`,
		Flags: append(targetFlags(),
			&cli.IntFlag{Name: "retries", Value: 4, Usage: "retry a failed transfer `N` times, waiting 1, 2, 4… seconds"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError{fmt.Errorf("upload needs at least one BUNDLE")}
			}
			store, to, journal, err := env.openTarget(c, true)
			if err != nil {
				return err
			}
			env.say("upload.folder", journal, to)

			// Every bundle is checked before the first byte goes out.
			var bundles []checkedBundle
			var total int64
			for _, arg := range c.Args().Slice() {
				found, err := findBundles(arg)
				if err != nil {
					return err
				}
				for _, lb := range found {
					// The payload's SHA-256 is checked while it is sent, not
					// in a pass of its own.
					res, manifest, err := checkOne(c, lb, verify.Options{HeaderOnly: true}, false)
					if err != nil {
						return fmt.Errorf("%s: %w", lb.manifestPath(), err)
					}
					if res.Journal != journal {
						return verify.Errorf(verify.CodeJournalMismatch, "%s is for journal number %s, but the folder is for %s: nothing was sent", lb.manifestPath(), res.Journal, journal)
					}
					total += res.Manifest.Payload.Size
					bundles = append(bundles, checkedBundle{localBundle: lb, manifest: manifest, m: res.Manifest})
				}
			}
			bar := env.newProgress("progress.upload", total)
			up := &uploader{store: store, retries: c.Int("retries"), progress: bar.Set}
			var done []map[string]any
			for _, cb := range bundles {
				skipped, err := up.bundle(c.Context, cb)
				if err != nil {
					bar.Finish()
					return err
				}
				done = append(done, map[string]any{"bundle": cb.name, "already_there": skipped})
			}
			bar.Finish()
			lines := make([]string, 0, len(done))
			for _, d := range done {
				key := "upload.done"
				if d["already_there"].(bool) {
					key = "upload.skipped"
				}
				lines = append(lines, fmt.Sprintf(text(key, env.lang), d["bundle"], journal))
			}
			return env.result(map[string]any{"ok": true, "journal_number": journal, "target": to, "bundles": done}, lines...)
		},
	}
}

// targetFlags are the flags that name and reach a journal folder, shared
// by upload and send.
func targetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "to", Aliases: []string{"t"}, Usage: "the journal folder's `URL`, or a target named in the config file", EnvVars: []string{"SIIRTO_TO"}, Required: true},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "user `NAME` on the transfer service", EnvVars: []string{"SIIRTO_USER"}},
		&cli.StringFlag{Name: "password-file", Usage: "read the password from `FILE`", EnvVars: []string{"SIIRTO_PASSWORD_FILE"}},
		&cli.IntFlag{Name: "chunk-size", Value: 16, Usage: "`MiB` per chunk of Nextcloud's chunked upload (at least 5)", EnvVars: []string{"SIIRTO_CHUNK_SIZE"}},
		&cli.StringFlag{Name: "endpoint", Usage: "S3: the `URL` of an S3-compatible server (MinIO, Ceph, Allas)", EnvVars: []string{"SIIRTO_S3_ENDPOINT"}},
		&cli.StringFlag{Name: "region", Usage: "S3: the `REGION` to sign for", EnvVars: []string{"SIIRTO_S3_REGION"}},
		&cli.StringFlag{Name: "profile", Usage: "S3: the AWS `PROFILE` holding the keys", EnvVars: []string{"SIIRTO_S3_PROFILE"}},
		&cli.IntFlag{Name: "part-size", Value: 16, Usage: "S3: `MiB` per part of a multipart upload (at least 5)", EnvVars: []string{"SIIRTO_S3_PART_SIZE"}},
		&cli.IntFlag{Name: "concurrency", Value: 4, Usage: "S3: parts sent at once (`N`)", EnvVars: []string{"SIIRTO_S3_CONCURRENCY"}},
		&cli.BoolFlag{Name: "keep-partial", Usage: "S3: on Ctrl-C keep the parts sent, so that the next run resumes"},
	}
}

// openTarget opens the store --to names, with the credentials and options
// of the flags and the config file, and reads and checks its journal
// folder. It returns the store, the target URL and the journal number.
// resumable says whether an interrupted upload of the caller's data may be
// continued later (upload: the same payload; send: never the same bytes).
func (env *environment) openTarget(c *cli.Context, resumable bool) (clients.Store, string, string, error) {
	tgt, err := env.cfg.target(c.String("to"))
	if err != nil {
		return nil, "", "", err
	}
	to := tgt.URL
	// A target that cannot be used (plain http to another machine, say) is
	// refused before a password is asked for, let alone sent.
	u, err := clients.CheckTarget(to)
	if err != nil {
		return nil, "", "", err
	}
	cred := clients.Credentials{User: c.String("user")}
	if cred.User == "" {
		cred.User = tgt.User
	}
	passFile := c.String("password-file")
	if passFile == "" {
		passFile = tgt.PasswordFile
	}
	// Only WebDAV takes a password: S3 has its keys from the AWS chain,
	// and local folders need none.
	if u.Scheme == "http" || u.Scheme == "https" {
		p, err := env.password(c.Context, passFile)
		if err != nil {
			return nil, "", "", err
		}
		cred.Password = p
	}
	if c.Int("chunk-size") < 5 || c.Int("part-size") < 5 {
		return nil, "", "", usageError{fmt.Errorf("--chunk-size and --part-size are at least 5 (MiB)")}
	}
	s3o := clients.S3Options{
		Endpoint: firstOf(c.String("endpoint"), tgt.Endpoint), Region: firstOf(c.String("region"), tgt.Region),
		Profile: firstOf(c.String("profile"), tgt.Profile), PartSize: int64(c.Int("part-size")) << 20,
		Concurrency: c.Int("concurrency"), KeepPartial: c.Bool("keep-partial"),
		// Data that is new on every try (send encrypts afresh) leaves no
		// parts behind: they could never be reused, only billed.
		NoResume: !resumable,
	}
	store, err := clients.OpenWith(c.Context, to, clients.OpenOptions{Credentials: cred, S3: s3o, ChunkSize: int64(c.Int("chunk-size")) << 20})
	if errors.Is(err, clients.ErrNotFound) {
		return nil, "", "", verify.Errorf(verify.CodeFolderMissing, "the folder %s does not exist", to)
	}
	if err != nil {
		return nil, "", "", err
	}
	journal, err := remoteJournal(c.Context, store, to)
	if err != nil {
		return nil, "", "", err
	}
	return store, to, journal, nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// remoteJournal reads journal_number.txt from the target folder and checks
// that the folder is named after it.
func remoteJournal(ctx context.Context, store clients.Store, to string) (string, error) {
	data, err := readStoreFile(ctx, store, verify.JournalFile, maxJournalFile)
	if errors.Is(err, clients.ErrNotFound) {
		if _, serr := store.Stat(ctx, ""); errors.Is(serr, clients.ErrNotFound) {
			return "", verify.Errorf(verify.CodeFolderMissing, "the folder %s does not exist", to)
		}
		return "", verify.Errorf(verify.CodeFolderMissing, "%s has no %s, so it is not a journal folder", to, verify.JournalFile)
	}
	if err != nil {
		return "", err
	}
	return folderJournal(data, clients.Base(to))
}

// maxJournalFile bounds the read of a journal_number.txt: one more byte
// than any valid one, so that a longer file is refused, not cut.
const maxJournalFile = 4097

// folderJournal parses a journal_number.txt and checks that the folder
// holding it, named folder, is named after the number.
func folderJournal(data []byte, folder string) (string, error) {
	journal, err := verify.ParseJournalFile(data)
	if err != nil {
		return "", err
	}
	if fj, err := verify.JournalFromFolder(folder); err != nil || fj != journal {
		return "", verify.Errorf(verify.CodeJournalMismatch, "the folder %s holds journal number %s but is not named after it", folder, journal)
	}
	return journal, nil
}

// readStoreFile reads a file in the store, at most limit bytes of it, so
// that a huge file on the server cannot exhaust memory.
func readStoreFile(ctx context.Context, store clients.Store, name string, limit int64) ([]byte, error) {
	r, err := store.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, limit))
}

// uploader sends bundles, retrying what may succeed on a second try.
type uploader struct {
	store   clients.Store
	retries int
	// progress is told the payload bytes sent so far (the bar, or the app).
	progress func(int64)
	sent     int64 // payload bytes of finished bundles
}

// checkedBundle is a local bundle with the manifest as it was checked:
// the bytes uploaded are those checked, not a second reading of the file.
type checkedBundle struct {
	localBundle
	manifest []byte
	m        *encrypt.Manifest
}

// bundle sends one bundle: payload, size check, manifest. It reports
// whether the same bundle was already there.
func (u *uploader) bundle(ctx context.Context, cb checkedBundle) (bool, error) {
	lb, manifest, m := cb.localBundle, cb.manifest, cb.m
	mName, pName := encrypt.ManifestName(lb.name), encrypt.PayloadName(lb.name)
	if there, err := readStoreFile(ctx, u.store, mName, verify.MaxManifest+1); err == nil {
		if bytes.Equal(there, manifest) {
			u.sent += m.Payload.Size
			u.progress(u.sent)
			return true, nil
		}
		return false, verify.Errorf(verify.CodeExists, "the folder already holds a different bundle named %s; choose another name with siirto encrypt --name", lb.name)
	} else if !errors.Is(err, clients.ErrNotFound) {
		return false, err
	}

	res, resumable := u.store.(clients.Resumer)
	err := u.retry(ctx, func() error {
		f, err := encrypt.OpenPayload(lb.payloadPath())
		if err != nil {
			return err
		}
		defer f.Close()
		// The SHA-256 is checked as the last byte is read, so a payload
		// changed since encryption fails the upload before the store makes
		// it visible (no MOVE, no CompleteMultipartUpload).
		body := &countingReader{r: &verifyingReader{r: f, h: sha256.New(), size: m.Payload.Size, want: m.Payload.SHA256},
			fn: func(n int64) { u.progress(u.sent + n) }}
		if resumable {
			// The payload's SHA-256 names the upload, so a rerun resumes it.
			return res.PutResumable(ctx, pName, body, m.Payload.Size, m.Payload.SHA256)
		}
		return u.store.Put(ctx, pName, body, m.Payload.Size)
	})
	if errors.Is(err, clients.ErrSourceChanged) {
		return false, verify.Errorf(verify.CodeChecksumMismatch, "%s changed since it was encrypted: %w; nothing was kept", lb.payloadPath(), err)
	}
	if err != nil {
		return false, err
	}
	err = finishBundle(ctx, u.store, lb.name, m.Payload.Size, manifest, func(op func() error) error {
		return u.retry(ctx, op)
	})
	if err != nil {
		return false, err
	}
	u.sent += m.Payload.Size
	return false, nil
}

// finishBundle completes a bundle whose payload is on the server: it
// checks the payload's size there, that no bundle of the same name was
// completed meanwhile, and puts the manifest, which makes the bundle
// visible to the authority. put runs the manifest's upload: upload retries
// it, send (whose data is new on every try) runs it once.
func finishBundle(ctx context.Context, store clients.Store, name string, size int64, manifest []byte, put func(op func() error) error) error {
	pName, mName := encrypt.PayloadName(name), encrypt.ManifestName(name)
	st, err := store.Stat(ctx, pName)
	if err != nil {
		return err
	}
	if st.Size != size {
		return verify.Errorf(verify.CodeUploadMismatch, "%s is %d bytes on the server, %d were sent", pName, st.Size, size)
	}
	if err := noManifestYet(ctx, store, mName); err != nil {
		return err
	}
	return put(func() error {
		return store.Put(ctx, mName, bytes.NewReader(manifest), int64(len(manifest)))
	})
}

// noManifestYet checks, right before a manifest is committed, that no
// other bundle of the same name was completed while the payload went up,
// so a long upload does not silently replace it. (A store-level
// create-only put would close the remaining window of milliseconds.)
func noManifestYet(ctx context.Context, store clients.Store, name string) error {
	_, err := store.Stat(ctx, name)
	switch {
	case err == nil:
		return verify.Errorf(verify.CodeExists, "another bundle named %s was completed in the folder while this one was being sent", strings.TrimSuffix(name, ".json"))
	case errors.Is(err, clients.ErrNotFound):
		return nil
	}
	return err
}

// verifyingReader passes the payload through and, once its announced size
// has been read, fails with clients.ErrSourceChanged instead of ending if
// the SHA-256 differs from the manifest's. The read that would complete a
// wrong payload returns no bytes: the body stays short, so no server can
// complete the PUT, the chunk or the multipart upload.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64
	want string
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.size || v.n == v.size && hex.EncodeToString(v.h.Sum(nil)) != v.want {
		return 0, fmt.Errorf("%w: its SHA-256 is not the manifest's", clients.ErrSourceChanged)
	}
	if err == io.EOF && v.n < v.size {
		return n, fmt.Errorf("%w: it ended after %d of %d bytes", clients.ErrSourceChanged, v.n, v.size)
	}
	return n, err
}

// retry runs op until it succeeds, fails for good, or the retries are
// spent, waiting 1, 2, 4… seconds (at most 30) between tries.
func (u *uploader) retry(ctx context.Context, op func() error) error {
	wait := time.Second
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil || attempt >= u.retries || !clients.Temporary(err) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// password finds the transfer service's password: from a file, then
// SIIRTO_PASSWORD, then a prompt on the terminal.
func (e *environment) password(ctx context.Context, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return string(bytes.TrimRight(b, "\r\n")), nil
	}
	if p, ok := os.LookupEnv("SIIRTO_PASSWORD"); ok {
		return p, nil
	}
	in, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return "", verify.Errorf(verify.CodeAuth, "no password: there is no terminal to ask on, so give --password-file or SIIRTO_PASSWORD")
	}
	fmt.Fprint(e.stderr, text("password.prompt", e.lang))
	p, err := readPassword(ctx, int(in.Fd()))
	fmt.Fprintln(e.stderr)
	return string(p), err
}
