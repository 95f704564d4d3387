package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
	"github.com/urfave/cli/v2"
)

func encryptCommand(env *environment) *cli.Command {
	return &cli.Command{
		Name:      "encrypt",
		Usage:     "pack files, encrypt them to the authority's key and write the manifest",
		ArgsUsage: "INPUT...",
		Description: `INPUT is either one ready .zip file, encrypted as it is (today's flow),
or any number of files and folders, which siirto packs into a zip in the
same stream as it encrypts: no unencrypted zip ever touches the disk.
Folders keep their structure; symbolic links and unsafe names are refused,
and desktop clutter (.DS_Store, Thumbs.db, desktop.ini) is left out.

The result is NAME.c4gh and NAME.json in --out. NAME is the zip's name
without .zip, or --name, or the name of a single input folder; it may hold
only letters, digits, '.', '-' and '_'. Both files are written under
temporary names and appear only when complete; the manifest comes last.
Existing files are never replaced without --force.

The journal number comes from journal_number.txt (download it from your
transfer folder). Without --journal, siirto looks for it beside the first
input and then in the current folder, and prints the number it used.

   siirto encrypt --recipient csc.pub --journal journal_number.txt cohort.zip
   siirto encrypt --recipient csc.pub --name cohort2024 --out outbox/ data/ forms/
   SIIRTO_RECIPIENT=csc.pub siirto --json encrypt extract/   # for scripts`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "recipient", Aliases: []string{"r"}, Usage: "public key `FILE` to encrypt to (repeat for several; or recipients in the config file)", EnvVars: []string{"SIIRTO_RECIPIENT"}},
			&cli.StringFlag{Name: "journal", Aliases: []string{"j"}, Usage: "the journal_number.txt `FILE` of the permit", EnvVars: []string{"SIIRTO_JOURNAL"}},
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "bundle `NAME` (default: the zip's or folder's name)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: ".", Usage: "`DIR` to write NAME.c4gh and NAME.json into", EnvVars: []string{"SIIRTO_OUT"}},
			&cli.StringFlag{Name: "sender-key", Usage: "seal the header with this secret key `FILE` instead of a one-time key", EnvVars: []string{"SIIRTO_SENDER_KEY"}},
			&cli.StringFlag{Name: "passphrase-file", Usage: "passphrase `FILE` for --sender-key", EnvVars: []string{"SIIRTO_PASSPHRASE_FILE"}},
			&cli.BoolFlag{Name: "store", Usage: "pack without compression (faster for data that is already compressed)"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing bundle of the same name"},
			&cli.IntFlag{Name: "workers", Usage: "`N` goroutines that encrypt (default: one per CPU)", EnvVars: []string{"SIIRTO_WORKERS"}},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError{fmt.Errorf("encrypt needs at least one INPUT file or folder")}
			}
			if err := env.cfg.defaults(c); err != nil {
				return err
			}
			journal, err := env.localJournal(c)
			if err != nil {
				return err
			}
			opts, total, err := env.bundleOptions(c, journal)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
				return err
			}
			bar := env.newProgress("progress.encrypt", total)
			opts.Progress = bar.Set
			start := time.Now()
			m, err := encrypt.WriteBundle(c.Context, opts)
			bar.Finish()
			if err != nil {
				return err
			}
			payload := filepath.Join(opts.OutDir, m.Payload.Name)
			manifest := filepath.Join(opts.OutDir, encrypt.ManifestName(opts.Name))
			return env.result(struct {
				OK       bool              `json:"ok"`
				Payload  string            `json:"payload"`
				Manifest string            `json:"manifest"`
				Seconds  float64           `json:"seconds"`
				Bundle   *encrypt.Manifest `json:"bundle"`
			}{true, payload, manifest, time.Since(start).Seconds(), m},
				fmt.Sprintf(text("encrypt.done", env.lang), journal, payload, size(m.Payload.Size), m.Payload.SHA256, manifest))
		},
	}
}

// localJournal finds the journal number for encrypt: --journal, or
// journal_number.txt beside the first input or here, and says which.
func (env *environment) localJournal(c *cli.Context) (string, error) {
	journal, from, err := findJournal(c.String("journal"), c.Args().First())
	if err == nil {
		env.say("journal.using", journal, from)
	}
	return journal, err
}

// bundleOptions turns the flags shared by encrypt and send into the
// options of one bundle for journal, and the plaintext bytes to read. The
// caller has applied the config file's defaults.
func (env *environment) bundleOptions(c *cli.Context, journal string) (opts encrypt.BundleOptions, total int64, err error) {
	if len(c.StringSlice("recipient")) == 0 {
		return opts, 0, usageError{fmt.Errorf("give the authority's public key with --recipient (or recipients in the config file)")}
	}
	inputs := c.Args().Slice()
	recipients, err := loadPublicKeys(c.StringSlice("recipient"))
	if err != nil {
		return opts, 0, err
	}
	opts = encrypt.BundleOptions{
		JournalNumber: journal,
		Recipients:    recipients,
		OutDir:        c.String("out"),
		Force:         c.Bool("force"),
		Store:         c.Bool("store"),
		Engine:        &encrypt.Options{Workers: c.Int("workers")},
		Tool:          encrypt.Tool{Name: "siirto", Version: toolVersion()},
	}
	if p := c.String("sender-key"); p != "" {
		if opts.Sender, err = env.loadSecretKey(c.Context, p, c.String("passphrase-file")); err != nil {
			return opts, 0, err
		}
	}
	if opts.Name, opts.Zip, err = readyZip(inputs, c.String("name")); err != nil {
		return opts, 0, err
	}
	if opts.Zip != "" {
		st, err := os.Stat(opts.Zip)
		if err != nil {
			return opts, 0, err
		}
		total = st.Size()
		env.say("encrypt.ready", opts.Zip, size(total))
	} else {
		files, skipped, err := encrypt.Plan(inputs)
		if err != nil {
			return opts, 0, err
		}
		for _, s := range skipped {
			env.say("encrypt.skipped", s)
		}
		if opts.Name, err = packName(inputs, c.String("name")); err != nil {
			return opts, 0, err
		}
		for _, f := range files {
			total += f.Info.Size()
		}
		opts.Files = files
		env.say("encrypt.packing", len(files), size(total), opts.Name)
	}
	return opts, total, nil
}

// readyZip decides whether the inputs are one ready zip, encrypted as-is.
// It returns the bundle name and the zip's path ("" when packing).
func readyZip(inputs []string, name string) (string, string, error) {
	if len(inputs) != 1 || !strings.EqualFold(filepath.Ext(inputs[0]), ".zip") {
		return "", "", nil
	}
	if st, err := os.Stat(inputs[0]); err != nil || !st.Mode().IsRegular() {
		return "", "", nil
	}
	if name != "" {
		return name, inputs[0], verify.CheckName(name)
	}
	n, err := verify.NameFromZip(filepath.Base(inputs[0]))
	return n, inputs[0], err
}

// packName returns the bundle name when packing: --name, or a single
// folder's name.
func packName(inputs []string, name string) (string, error) {
	if name != "" {
		return name, verify.CheckName(name)
	}
	if len(inputs) == 1 {
		if st, err := os.Stat(inputs[0]); err == nil && st.IsDir() {
			n := filepath.Base(filepath.Clean(inputs[0]))
			if err := verify.CheckName(n); err != nil {
				e := verify.AsError(err)
				e.Detail += "; choose a name with --name"
				return "", e
			}
			return n, nil
		}
	}
	return "", usageError{fmt.Errorf("give the bundle a name with --name (letters, digits, '.', '-', '_')")}
}

// findJournal reads the journal number from the given file, or looks for
// journal_number.txt beside the first input and then here.
func findJournal(path, firstInput string) (journal, from string, err error) {
	candidates := []string{path}
	if path == "" {
		dir := firstInput
		if st, err := os.Stat(firstInput); err == nil && !st.IsDir() {
			dir = filepath.Dir(firstInput)
		}
		candidates = []string{filepath.Join(dir, verify.JournalFile), filepath.Join(filepath.Dir(filepath.Clean(dir)), verify.JournalFile), verify.JournalFile}
	}
	for _, p := range candidates {
		data, err := os.ReadFile(p)
		if os.IsNotExist(err) && path == "" {
			continue
		}
		if err != nil {
			return "", "", err
		}
		j, err := verify.ParseJournalFile(data)
		return j, p, err
	}
	return "", "", verify.Errorf(verify.CodeJournalFileMissing, "no %s beside %s or in the current folder", verify.JournalFile, firstInput)
}
