package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/siirto/siirto/gateway"
	"github.com/siirto/siirto/gateway/accounts"
	"github.com/urfave/cli/v2"
)

func initCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "make a new data folder: keys, config and folders",
		ArgsUsage: "[DIR]",
		Description: `Makes DIR (default: -d, or the current folder) with the gateway's Crypt4GH
key pair (keys/gateway.pub is what uploaders encrypt to; keys/gateway.sec
is protected by a passphrase), the receipt signing key, a staff API token,
gateway.toml, and the inbox, staging and state folders (all 0700).

Without --passphrase-file a random passphrase is made and kept in
secrets/key-passphrase (0600) so that the gateway starts unattended; in
production move it to your secret store and point key_passphrase_file or
SIIRTO_GATEWAY_PASSPHRASE at it.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "passphrase-file", Usage: "read the secret key's passphrase from this file"},
			&cli.StringFlag{Name: "name", Value: "siirto-gateway", Usage: "this gateway's name in receipts and notices"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8480", Usage: "the HTTP address to listen on"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			dir := c.String("dir")
			if c.NArg() > 1 {
				return usagef("init takes one folder")
			}
			if c.NArg() == 1 {
				dir = c.Args().First()
			}
			o := gateway.InitOptions{Config: gateway.Defaults()}
			o.Config.Name, o.Config.Listen = c.String("name"), c.String("listen")
			if p := c.String("passphrase-file"); p != "" {
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				o.Passphrase = []byte(strings.TrimRight(string(data), "\r\n"))
				o.Config.KeyPassphraseFile = ""
			}
			res, err := gateway.Init(dir, o)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return e.json(res)
			}
			fmt.Fprintf(e.stdout, "A new gateway is in %s\n  config:          %s\n  public key:      %s (%s)\n  receipt key:     %s\n\nNext: siirto-gateway -d %s journal add NUMBER --user NAME\n",
				res.Dir, res.ConfigPath, res.PublicKey, res.Fingerprint, res.ReceiptKey, res.Dir)
			return nil
		},
	}
}

func journalCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "journal",
		Usage: "open, list and close journals (one folder per permit)",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "open a journal folder and give an uploader access",
				ArgsUsage: "NUMBER",
				Description: `Creates inbox/<folder>/ for the journal number (its "/" become "_") with
journal_number.txt and receipt-key.pub, which uploaders can read but not
change. A new --user gets an account; its password comes from
--password-file (or "-" for stdin), or is made up and printed once.
With --sender-key, only bundles whose Crypt4GH writer key is one of those
are accepted (others: E_SENDER_UNKNOWN).`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "user", Required: true, Usage: "the uploader account"},
					&cli.StringFlag{Name: "password-file", Usage: "the new account's password (- for stdin)"},
					&cli.StringSliceFlag{Name: "sender-key", Usage: "a registered sender's public key file (repeatable)"},
					&cli.StringSliceFlag{Name: "handler", Usage: "an email address told of this journal's bundles (repeatable)"},
					&cli.StringFlag{Name: "lang", Usage: "notification language for this journal: fi, sv or en"},
					jsonFlag,
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usagef("journal add takes one journal number")
					}
					g, err := e.open(c)
					if err != nil {
						return err
					}
					defer g.Close()
					spec := gateway.JournalSpec{Number: c.Args().First(), User: c.String("user"), Handlers: c.StringSlice("handler"), Lang: c.String("lang")}
					if spec.Password, err = readPassword(c.String("password-file")); err != nil {
						return err
					}
					for _, k := range c.StringSlice("sender-key") {
						data, err := os.ReadFile(k)
						if err != nil {
							return err
						}
						spec.Senders = append(spec.Senders, data)
					}
					res, err := g.AddJournal(c.Context, spec)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return e.json(res)
					}
					fmt.Fprintf(e.stdout, "Journal %s is open in folder %s for %s.\n", spec.Number, res.Folder, spec.User)
					if res.Password != "" {
						fmt.Fprintf(e.stdout, "Password for %s (shown once): %s\n", spec.User, res.Password)
					}
					fmt.Fprintf(e.stdout, "Uploaders encrypt to %s (%s).\n", res.PublicKey, res.Fingerprint)
					return nil
				},
			},
			{
				Name:  "list",
				Usage: "list journals",
				Flags: []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error {
					g, err := e.openReadOnly(c)
					if err != nil {
						return err
					}
					defer g.Close()
					js, err := g.Accounts().Journals(c.Context)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						if js == nil {
							js = []accounts.Journal{}
						}
						return e.json(js)
					}
					tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NUMBER\tFOLDER\tSTATE\tUSERS\tSENDERS")
					for _, j := range js {
						state := "open"
						if j.Closed {
							state = "closed"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", j.Number, j.Folder, state, strings.Join(j.Users, ","), len(j.Senders))
					}
					return tw.Flush()
				},
			},
			journalState(e, "close", true, "close a journal: no more uploads (reading stays possible)"),
			journalState(e, "reopen", false, "reopen a closed journal for uploads"),
		},
	}
}

func journalState(e *env, name string, closed bool, usage string) *cli.Command {
	return &cli.Command{
		Name: name, Usage: usage, ArgsUsage: "JOURNAL",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("journal %s takes one journal number or folder", name)
			}
			g, err := e.open(c)
			if err != nil {
				return err
			}
			defer g.Close()
			if err := g.SetJournalClosed(c.Context, c.Args().First(), closed); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Journal %s: %sd.\n", c.Args().First(), name)
			return nil
		},
	}
}

func userCommand(e *env) *cli.Command {
	action := func(name, usage, args string, needPassword, needJournal bool) *cli.Command {
		flags := []cli.Flag{}
		if needPassword {
			flags = append(flags, &cli.StringFlag{Name: "password-file", Usage: "the password (- for stdin); made up and printed when absent"})
		}
		return &cli.Command{
			Name: name, Usage: usage, ArgsUsage: args, Flags: flags,
			Action: func(c *cli.Context) error {
				want := 1
				if needJournal {
					want = 2
				}
				if c.NArg() != want {
					return usagef("user %s takes %s", name, args)
				}
				g, err := e.open(c)
				if err != nil {
					return err
				}
				defer g.Close()
				var pw, made string
				if needPassword {
					if pw, err = readPassword(c.String("password-file")); err != nil {
						return err
					}
					if pw == "" {
						pw = gateway.NewPassword()
						made = pw
					}
				}
				if err := g.UserAction(c.Context, name, c.Args().Get(0), pw, c.Args().Get(1)); err != nil {
					if errors.Is(err, accounts.ErrNotFound) {
						return fmt.Errorf("no such user or journal: %w", err)
					}
					return err
				}
				fmt.Fprintf(e.stdout, "user %s: %s done.\n", c.Args().Get(0), name)
				if made != "" {
					fmt.Fprintf(e.stdout, "Password (shown once): %s\n", made)
				}
				return nil
			},
		}
	}
	return &cli.Command{
		Name:  "user",
		Usage: "manage uploader accounts",
		Subcommands: []*cli.Command{
			action("add", "create an account", "USER", true, false),
			action("passwd", "set a new password", "USER", true, false),
			action("disable", "stop an account from logging in", "USER", false, false),
			action("enable", "let a disabled account log in again", "USER", false, false),
			action("delete", "remove an account and its grants", "USER", false, false),
			action("grant", "let a user upload into a journal", "USER JOURNAL", false, true),
			action("revoke", "take a journal away from a user", "USER JOURNAL", false, true),
			{
				Name: "list", Usage: "list accounts", Flags: []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error {
					g, err := e.openReadOnly(c)
					if err != nil {
						return err
					}
					defer g.Close()
					us, err := g.Accounts().Users(c.Context)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						if us == nil {
							us = []accounts.User{}
						}
						return e.json(us)
					}
					tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "USER\tSTATE\tJOURNAL FOLDERS")
					for _, u := range us {
						state := "active"
						if u.Disabled {
							state = "disabled"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, state, strings.Join(u.Folders, ","))
					}
					return tw.Flush()
				},
			},
		},
	}
}
