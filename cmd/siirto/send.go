package main

import (
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
			pName := encrypt.PayloadName(opts.Name)
			if err := nameFree(c.Context, store, opts.Name, " with --name"); err != nil {
				return err
			}

			bar := env.newProgress("progress.send", total)
			opts.Progress = bar.Set
			start := time.Now()
			var m *encrypt.Manifest
			err = clients.PutFrom(c.Context, store, pName, func(ctx context.Context, w io.Writer) (err error) {
				m, err = encrypt.Seal(ctx, w, opts)
				return err
			})
			bar.Finish()
			if err != nil {
				return err
			}
			data, err := m.Marshal()
			if err != nil {
				return err
			}
			// send has no --retries: the manifest goes up once.
			once := func(op func() error) error { return op() }
			if err := finishBundle(c.Context, store, opts.Name, m.Payload.Size, data, once); err != nil {
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

// nameFree refuses a bundle name whose manifest the folder already holds,
// before anything is sent; how says how to choose another. Other errors
// (the network, a login) pass as they are.
func nameFree(ctx context.Context, store clients.Store, name, how string) error {
	if _, err := store.Stat(ctx, encrypt.ManifestName(name)); err == nil {
		return verify.Errorf(verify.CodeExists, "the folder already holds a bundle named %s; choose another name%s", name, how)
	} else if !errors.Is(err, clients.ErrNotFound) {
		return err
	}
	return nil
}
