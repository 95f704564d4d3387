package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
	"github.com/urfave/cli/v2"
)

func sendCommand(env *environment) *cli.Command {
	return &cli.Command{
		Name:      "send",
		Usage:     "pack, encrypt and upload in one stream, with no copy on disk",
		ArgsUsage: "INPUT...",
		Description: `For data controllers' large extracts: reads the files (or one ready zip),
packs, encrypts and uploads them in a single pass to the journal folder
--to names. Neither the zip nor the encrypted payload is ever written to
the local disk, and memory stays bounded whatever the size.

The journal number is the target folder's journal_number.txt; a local
journal_number.txt given with --journal must agree with it. The
payload goes up first (hidden until complete), then its size is checked
and the manifest goes last, as with siirto upload.

If send is interrupted (Ctrl-C, a lost connection, a crash), nothing
becomes visible in the folder: run the same command again, and it starts
over with a fresh encryption. For a transfer that must resume where it
stopped, use siirto encrypt, then siirto upload.

   siirto send --to s3://extracts/inbox/2022_53/ --endpoint https://a3s.example.fi \
     --recipient csc.pub --name register2024 /data/extract/`,
		Flags: append(targetFlags(),
			&cli.StringSliceFlag{Name: "recipient", Aliases: []string{"r"}, Usage: "public key `FILE` to encrypt to (repeat for several; or recipients in the config file)", EnvVars: []string{"SIIRTO_RECIPIENT"}},
			&cli.StringFlag{Name: "journal", Aliases: []string{"j"}, Usage: "a local journal_number.txt `FILE` that must agree with the folder's", EnvVars: []string{"SIIRTO_JOURNAL"}},
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "bundle `NAME` (default: the zip's or folder's name)"},
			&cli.StringFlag{Name: "sender-key", Usage: "seal the header with this secret key `FILE` instead of a one-time key", EnvVars: []string{"SIIRTO_SENDER_KEY"}},
			&cli.StringFlag{Name: "passphrase-file", Usage: "passphrase `FILE` for --sender-key", EnvVars: []string{"SIIRTO_PASSPHRASE_FILE"}},
			&cli.BoolFlag{Name: "store", Usage: "pack without compression"},
			&cli.IntFlag{Name: "workers", Usage: "`N` goroutines that encrypt (default: one per CPU)", EnvVars: []string{"SIIRTO_WORKERS"}},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError{fmt.Errorf("send needs at least one INPUT file or folder")}
			}
			store, to, journal, err := env.openTarget(c, false)
			if err != nil {
				return err
			}
			env.say("upload.folder", journal, to)
			if c.String("journal") != "" {
				local, from, err := findJournal(c.String("journal"), c.Args().First())
				if err != nil {
					return err
				}
				if local != journal {
					return verify.Errorf(verify.CodeJournalMismatch, "%s says %s, but the folder is for %s: nothing was sent", from, local, journal)
				}
			}
			if err := env.cfg.defaults(c); err != nil {
				return err
			}
			opts, total, err := env.bundleOptions(c, journal)
			if err != nil {
				return err
			}
			pName, mName := encrypt.PayloadName(opts.Name), encrypt.ManifestName(opts.Name)
			if _, err := store.Stat(c.Context, mName); err == nil {
				return verify.Errorf(verify.CodeExists, "the folder already holds a bundle named %s; choose another name with --name", opts.Name)
			} else if !errors.Is(err, clients.ErrNotFound) {
				return err
			}

			bar := env.newProgress("progress.send", total)
			opts.Progress = bar.Set
			start := time.Now()
			m, err := stream(c.Context, store, pName, opts)
			bar.Finish()
			if err != nil {
				return err
			}
			st, err := store.Stat(c.Context, pName)
			if err != nil {
				return err
			}
			if st.Size != m.Payload.Size {
				return verify.Errorf(verify.CodeUploadMismatch, "%s is %d bytes on the server, %d were sent", pName, st.Size, m.Payload.Size)
			}
			data, err := m.Marshal()
			if err != nil {
				return err
			}
			if err := noManifestYet(c.Context, store, mName); err != nil {
				return err
			}
			if err := store.Put(c.Context, mName, bytes.NewReader(data), int64(len(data))); err != nil {
				return err
			}
			return env.result(struct {
				OK      bool              `json:"ok"`
				Target  string            `json:"target"`
				Seconds float64           `json:"seconds"`
				Bundle  *encrypt.Manifest `json:"bundle"`
			}{true, to, time.Since(start).Seconds(), m},
				fmt.Sprintf(text("upload.done", env.lang), opts.Name, journal))
		},
	}
}

// errUploadEnded ends a Seal whose upload has stopped reading.
var errUploadEnded = errors.New("the upload stopped reading")

// stream seals the bundle into a pipe that the store reads as the upload's
// body, so encryption and the network overlap and nothing touches the
// disk. Either side failing stops the other.
func stream(ctx context.Context, store clients.Store, name string, opts encrypt.BundleOptions) (*encrypt.Manifest, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	type sealed struct {
		m   *encrypt.Manifest
		err error
	}
	done := make(chan sealed, 1)
	go func() {
		m, err := encrypt.Seal(ctx, pw, opts)
		pw.CloseWithError(err) // nil: the reader sees io.EOF
		done <- sealed{m, err}
	}()
	// A pipe has no WriteTo, so an HTTP body copied from it would go out
	// in 32 KiB writes (and as many chunks of chunked encoding); through a
	// 1 MiB bufio.Reader it goes out a megabyte at a time.
	putErr := store.Put(ctx, name, bufio.NewReaderSize(pr, 1<<20), -1)
	if putErr != nil {
		cancel()
	}
	// Always close the reading side: a store that returned before reading
	// everything (a server that answers early) must not leave Seal blocked
	// on the pipe for ever; Seal then fails, and so does the send.
	pr.CloseWithError(errUploadEnded)
	s := <-done
	if putErr == nil && errors.Is(s.err, errUploadEnded) {
		return nil, fmt.Errorf("%w: the server took the upload before all of it was sent", clients.ErrServer)
	}
	if s.err != nil && putErr == nil {
		return nil, s.err
	}
	if putErr != nil {
		if s.err != nil && !errors.Is(s.err, context.Canceled) && !errors.Is(s.err, errUploadEnded) && !errors.Is(s.err, putErr) {
			return nil, s.err // the source failed first: say so
		}
		return nil, putErr
	}
	return s.m, nil
}
