package main

import (
	"fmt"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
	"github.com/urfave/cli/v2"
)

func verifyCommand(env *environment) *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check bundles exactly as the authority will, before or after sending",
		ArgsUsage: "BUNDLE_OR_FOLDER...",
		Description: `Checks each bundle (NAME.json, NAME.c4gh, NAME, or every bundle in a
folder) with the same rules the gateway uses:

 without a key: names, the manifest, the journal number, the payload's size
   and SHA-256, and that the Crypt4GH header has one packet per recipient,
   sealed by the sender key the manifest names;
 with --recipient: that the bundle is encrypted to that public key;
 with --sender: that it was sealed with one of these registered keys;
 with --key: it also decrypts, checks the plaintext SHA-256, every zip
   entry and the inner list of files. Nothing decrypted is kept.

A journal_number.txt beside a bundle must hold the bundle's journal
number. With --journal-folder, the folder's name must map to it too
(THL/1234/14.02.00/2023 lives in THL_1234_14.02.00_2023), as the gateway
checks in its inbox.

   siirto verify outbox/cohort.json
   siirto verify --journal-folder --recipient csc.pub THL_1234_14.02.00_2023/
   siirto --json verify --key authority.sec inbox/2022_53/`,
		Flags: []cli.Flag{
			// No SIIRTO_KEY here: an exported key must not turn every
			// quick check into a decryption that asks for a passphrase.
			&cli.StringFlag{Name: "key", Aliases: []string{"k"}, Usage: "secret key `FILE`: also decrypt and check the contents"},
			&cli.StringFlag{Name: "passphrase-file", Usage: "read the key's passphrase from `FILE`", EnvVars: []string{"SIIRTO_PASSPHRASE_FILE"}},
			&cli.StringSliceFlag{Name: "recipient", Aliases: []string{"r"}, Usage: "public key `FILE` the bundle must be encrypted to"},
			&cli.StringSliceFlag{Name: "sender", Usage: "registered sender public key `FILE` (repeat for several)"},
			&cli.BoolFlag{Name: "journal-folder", Usage: "the folder is a journal folder: check its name too"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError{fmt.Errorf("verify needs at least one BUNDLE or folder")}
			}
			var opts verify.Options
			var err error
			if opts.Recipients, err = loadPublicKeys(c.StringSlice("recipient")); err != nil {
				return err
			}
			if opts.Senders, err = loadPublicKeys(c.StringSlice("sender")); err != nil {
				return err
			}
			if p := c.String("key"); p != "" {
				if opts.Key, err = env.loadSecretKey(c.Context, p, c.String("passphrase-file")); err != nil {
					return err
				}
			}
			type outcome struct {
				Bundle  string            `json:"bundle"`
				OK      bool              `json:"ok"`
				Journal string            `json:"journal_number,omitempty"`
				Checked string            `json:"checked,omitempty"`
				Files   int               `json:"files,omitempty"`
				Error   *jsonError        `json:"error,omitempty"`
				Info    *encrypt.Manifest `json:"manifest,omitempty"`
			}
			var results []outcome
			worst := 0
			for _, arg := range c.Args().Slice() {
				bundles, err := findBundles(arg)
				if err != nil {
					return err
				}
				for _, lb := range bundles {
					o := outcome{Bundle: lb.manifestPath()}
					res, _, err := checkOne(c, lb, opts, c.Bool("journal-folder"))
					if err == nil {
						o.OK, o.Journal, o.Info, o.Checked = true, res.Journal, res.Manifest, "sealed"
						line := text("verify.ok.sealed", env.lang)
						if res.Decrypted {
							o.Checked, o.Files = "decrypted", len(res.Files)
							line = fmt.Sprintf(text("verify.ok.decrypted", env.lang), len(res.Files))
						}
						if !env.json {
							fmt.Fprintf(env.stdout, text("verify.ok", env.lang)+"\n", lb.manifestPath(), res.Journal, line)
						}
					} else {
						d := describe(err, env.lang)
						o.Error = &d
						worst = max(worst, d.Exit)
						if !env.json {
							fmt.Fprintf(env.stdout, text("verify.fail", env.lang)+"\n", lb.manifestPath(), verify.Message(err, env.lang))
						}
					}
					results = append(results, o)
				}
			}
			if env.json {
				if err := env.result(map[string]any{"ok": worst == 0, "bundles": results}); err != nil {
					return err
				}
			}
			if worst != 0 {
				return reported{exit: worst}
			}
			return nil
		},
	}
}

// checkOne checks a local bundle and returns the result with the
// manifest's bytes as checked, so that a caller sending the manifest sends
// exactly these rather than reading the file again.
func checkOne(c *cli.Context, lb localBundle, opts verify.Options, journalFolder bool) (*verify.Result, []byte, error) {
	vb, closer, err := lb.open(journalFolder)
	if err != nil {
		return nil, nil, err
	}
	defer closer.Close()
	res, err := verify.Check(c.Context, vb, opts)
	return res, vb.Manifest, err
}
