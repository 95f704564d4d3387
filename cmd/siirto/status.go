package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func statusCommand(env *environment) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show the authority's receipt for a sent bundle, and clean up after it",
		ArgsUsage: "BUNDLE",
		Description: `Reads the receipt the authority's gateway writes beside a bundle in the
journal folder (NAME.receipt.json), checks its signature and that it
answers exactly this bundle, and shows it: accepted, with the size and
SHA-256 as received, or rejected, with the reason and what to do.

The signature is checked with --receipt-key, the target's receipt_key in
the config file, or else the gateway's receipt-key.pub in the journal
folder (which the gateway keeps read-only to uploaders). An accepted
receipt must name exactly the payload's size and SHA-256 that were sent.
--clean deletes only on the word of a key given out of band
(--receipt-key or receipt_key), never one read from the folder itself.

--wait waits for the receipt (checking every --interval) up to --timeout.
After an accepted receipt, --clean PATH... offers to delete your local
copies permanently, as the authority's instructions require, after asking
for confirmation (or at once with --yes). Empty the trash afterwards if
your desktop moved anything there.

Exit status: 0 accepted, 3 rejected, 6 no receipt yet or unreachable.

   siirto status --to findata --wait cohort.json
   siirto status --to findata --clean cohort/ --clean cohort.c4gh cohort.json`,
		Flags: append(targetFlags(),
			&cli.BoolFlag{Name: "wait", Aliases: []string{"w"}, Usage: "wait until the receipt arrives"},
			&cli.DurationFlag{Name: "timeout", Value: time.Hour, Usage: "give up waiting after `DURATION`"},
			&cli.DurationFlag{Name: "interval", Value: 10 * time.Second, Usage: "check every `DURATION` while waiting"},
			&cli.StringFlag{Name: "receipt-key", Usage: "the gateway's receipt public key `FILE`", EnvVars: []string{"SIIRTO_RECEIPT_KEY"}},
			&cli.StringSliceFlag{Name: "clean", Usage: "after an accepted receipt, delete this local `PATH` (repeat for several)"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "delete the --clean paths without asking"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError{fmt.Errorf("status takes one BUNDLE")}
			}
			store, _, _, err := env.openTarget(c, true)
			if err != nil {
				return err
			}
			name := bundleName(c.Args().First())
			manifest, err := bundleManifest(c.Context, store, c.Args().First(), name)
			if err != nil {
				return err
			}
			key, pinned, err := env.receiptKey(c, store)
			if err != nil {
				return err
			}
			if len(c.StringSlice("clean")) > 0 && !pinned {
				// A key read from the folder is only as safe as the folder:
				// deleting data on its word needs a key given out of band.
				return usageError{fmt.Errorf("--clean needs the gateway's receipt key from the authority: give --receipt-key or receipt_key in the config file")}
			}
			r, err := awaitReceipt(c, store, name, manifest, key)
			if err != nil {
				return err
			}
			if r.Status == verify.ReceiptRejected {
				advice := verify.Lookup(r.Code).Advice.In(env.lang)
				if r.Advice != nil {
					advice = r.Advice.In(env.lang)
				}
				_ = env.result(map[string]any{"ok": false, "receipt": r},
					fmt.Sprintf(text("status.rejected", env.lang), name, r.Time.Local().Format(time.DateTime), verify.Lookup(r.Code).Title.In(env.lang), r.Code, advice))
				return reported{exit: exitCode(verify.CodeRejected)}
			}
			cleaned, err := env.clean(c)
			if err != nil {
				return err
			}
			return env.result(map[string]any{"ok": true, "receipt": r, "cleaned": cleaned},
				fmt.Sprintf(text("status.accepted", env.lang), name, r.Time.Local().Format(time.DateTime), size(r.Payload.Size), r.Payload.SHA256))
		},
	}
}

// bundleName is NAME for NAME, NAME.json, NAME.c4gh or a path to them.
func bundleName(arg string) string {
	base := filepath.Base(arg)
	for _, ext := range []string{".json", ".c4gh"} {
		if n, ok := strings.CutSuffix(base, ext); ok {
			return n
		}
	}
	return base
}

// bundleManifest is the local manifest if there is one, else the one in
// the journal folder: the receipt must answer exactly it.
func bundleManifest(ctx context.Context, store clients.Store, arg, name string) ([]byte, error) {
	local := filepath.Join(filepath.Dir(arg), encrypt.ManifestName(name))
	if data, err := os.ReadFile(local); err == nil {
		return data, nil
	}
	data, err := readStoreFile(ctx, store, encrypt.ManifestName(name), verify.MaxManifest+1)
	if errors.Is(err, clients.ErrNotFound) {
		return nil, verify.Errorf(verify.CodeManifestMissing, "%s is neither here nor in the journal folder", encrypt.ManifestName(name))
	}
	return data, err
}

// receiptKey is --receipt-key or the target's receipt_key (pinned: given
// out of band), else the gateway's key in the folder.
func (env *environment) receiptKey(c *cli.Context, store clients.Store) (ed25519.PublicKey, bool, error) {
	p := c.String("receipt-key")
	if p == "" {
		if t, err := env.cfg.target(c.String("to")); err == nil {
			p = t.ReceiptKey
		}
	}
	return loadReceiptKey(c.Context, store, p)
}

// loadReceiptKey reads the pinned receipt key file if there is one, else
// the gateway's key as the journal folder holds it. pinned says which.
func loadReceiptKey(ctx context.Context, store clients.Store, pinnedFile string) (key ed25519.PublicKey, pinned bool, err error) {
	if pinnedFile != "" {
		data, err := os.ReadFile(pinnedFile)
		if err != nil {
			return nil, false, err
		}
		k, err := verify.ParseReceiptKey(data)
		return k, true, err
	}
	data, err := readStoreFile(ctx, store, verify.ReceiptKeyFile, 64<<10)
	if errors.Is(err, clients.ErrNotFound) {
		return nil, false, verify.Errorf(verify.CodeReceiptInvalid, "no %s in the journal folder and no --receipt-key: nothing to check a receipt with", verify.ReceiptKeyFile)
	}
	if err != nil {
		return nil, false, err
	}
	k, err := verify.ParseReceiptKey(data)
	return k, false, err
}

// awaitReceipt reads the receipt, waiting for it with --wait.
func awaitReceipt(c *cli.Context, store clients.Store, name string, manifest []byte, key ed25519.PublicKey) (*verify.Receipt, error) {
	deadline := time.Now().Add(c.Duration("timeout"))
	for {
		rc, stale, err := readReceipt(c.Context, store, name, manifest, key)
		if rc != nil || err != nil {
			return rc, err
		}
		if !c.Bool("wait") || time.Now().After(deadline) {
			if stale {
				return nil, verify.Errorf(verify.CodeNoReceipt, "%s answers an earlier bundle of that name; this one has none yet", verify.ReceiptName(name))
			}
			return nil, verify.Errorf(verify.CodeNoReceipt, "no %s in the journal folder yet", verify.ReceiptName(name))
		}
		select {
		case <-time.After(c.Duration("interval")):
		case <-c.Context.Done():
			return nil, c.Context.Err()
		}
	}
}

// readReceipt reads the folder's receipt for the bundle with this
// manifest. It returns none (and no error) while there is none; stale
// says the receipt there answers an earlier bundle of the same name (one
// that was rejected and sent again): the answer to this one is still to
// come.
func readReceipt(ctx context.Context, store clients.Store, name string, manifest []byte, key ed25519.PublicKey) (rc *verify.Receipt, stale bool, err error) {
	data, err := readStoreFile(ctx, store, verify.ReceiptName(name), verify.MaxManifest+1)
	if errors.Is(err, clients.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if rc, err = verify.ParseReceipt(data, key); err != nil {
		return nil, false, err
	}
	err = rc.For(name, manifest)
	if errors.Is(err, verify.ErrReceiptElsewhere) {
		return nil, true, nil
	}
	return rc, false, err
}

// clean deletes the --clean paths after confirmation, and returns them.
func (env *environment) clean(c *cli.Context) ([]string, error) {
	paths := c.StringSlice("clean")
	if len(paths) == 0 {
		return nil, nil
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			return nil, err
		}
	}
	if !c.Bool("yes") {
		in, ok := env.stdin.(*os.File)
		if !ok || !term.IsTerminal(int(in.Fd())) {
			return nil, usageError{fmt.Errorf("--clean asks for confirmation on a terminal; add --yes to delete without asking")}
		}
		fmt.Fprintf(env.stderr, text("status.clean.ask", env.lang), strings.Join(paths, "\n  "))
		answer, _ := bufio.NewReader(in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" && a != "k" && a != "kyllä" && a != "j" && a != "ja" {
			return nil, nil
		}
	}
	for _, p := range paths {
		if err := os.RemoveAll(p); err != nil {
			return nil, err
		}
	}
	env.say("status.cleaned", len(paths))
	return paths, nil
}
