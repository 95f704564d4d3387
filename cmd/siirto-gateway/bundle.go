package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/siirto/siirto/gateway"
	"github.com/siirto/siirto/inbox"
	"github.com/urfave/cli/v2"
)

func bundleCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "bundle",
		Usage: "list bundles and mark them delivered",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list bundles, newest first",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "journal", Usage: "only this journal (number or folder)"},
					jsonFlag,
				},
				Action: func(c *cli.Context) error {
					g, err := e.openReadOnly(c)
					if err != nil {
						return err
					}
					defer g.Close()
					folder := ""
					if j := c.String("journal"); j != "" {
						jr, err := g.Journal(c.Context, j)
						if err != nil {
							return err
						}
						folder = jr.Folder
					}
					recs, err := g.Ledger().List(c.Context, folder)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						out := make([]gateway.BundleJSON, 0, len(recs))
						for _, r := range recs {
							out = append(out, gateway.ToJSON(r))
						}
						return e.json(out)
					}
					tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tFOLDER\tNAME\tSTATE\tOUTCOME\tCODE\tFILES")
					for _, r := range recs {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.ID[:16], r.Folder, r.Name, r.State, r.Outcome, r.Code, r.Files)
					}
					return tw.Flush()
				},
			},
			{
				Name:      "show",
				Usage:     "show one bundle",
				ArgsUsage: "ID",
				Action: func(c *cli.Context) error {
					g, r, err := e.bundle(c, e.openReadOnly)
					if err != nil {
						return err
					}
					defer g.Close()
					return e.json(gateway.ToJSON(r))
				},
			},
			{
				Name:      "delivered",
				Usage:     "record that a staged bundle was delivered: its retention period starts",
				ArgsUsage: "ID",
				Description: `After the handler has delivered the pseudonymised data, this starts the
retention clock: the staged plaintext is deleted retention_days (default 90)
later, and the deletion is audited. ID may be the id's first 12 or more
characters.`,
				Flags: []cli.Flag{&cli.StringFlag{Name: "by", Usage: "the handler's name for the audit log (default: your login)"}},
				Action: func(c *cli.Context) error {
					g, r, err := e.bundle(c, e.open)
					if err != nil {
						return err
					}
					defer g.Close()
					r, err = g.MarkDelivered(c.Context, r.ID, c.String("by"))
					if err != nil {
						return err
					}
					fmt.Fprintf(e.stdout, "Bundle %s (%s/%s) is delivered; its staged data will be deleted after %d days.\n",
						r.ID[:16], r.Folder, r.Name, g.Config().RetentionDays)
					return nil
				},
			},
		},
	}
}

// bundle opens the data folder with open and finds the bundle named by the
// argument, a whole id or a prefix.
func (e *env) bundle(c *cli.Context, open func(*cli.Context) (*gateway.Gateway, error)) (*gateway.Gateway, inbox.Record, error) {
	if c.NArg() != 1 || len(c.Args().First()) < 12 {
		return nil, inbox.Record{}, usagef("give a bundle id (at least its first 12 characters)")
	}
	g, err := open(c)
	if err != nil {
		return nil, inbox.Record{}, err
	}
	id := c.Args().First()
	r, err := g.Ledger().Get(c.Context, id)
	if errors.Is(err, inbox.ErrNotFound) {
		recs, lerr := g.Ledger().List(c.Context, "")
		if lerr != nil {
			g.Close()
			return nil, r, lerr
		}
		n := 0
		for _, rec := range recs {
			if len(rec.ID) >= len(id) && rec.ID[:len(id)] == id {
				r, n = rec, n+1
			}
		}
		switch n {
		case 1:
			err = nil
		case 0:
			err = fmt.Errorf("no bundle %s", id)
		default:
			err = fmt.Errorf("%s names %d bundles: give more characters", id, n)
		}
	}
	if err != nil {
		g.Close()
		return nil, r, err
	}
	return g, r, nil
}

func auditCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "check the audit log",
		Subcommands: []*cli.Command{
			{
				Name:  "verify",
				Usage: "check that no audit entry was edited, removed or reordered",
				Description: `Reads audit/audit.log and checks its hash chain (each entry holds the
SHA-256 of the one before) and that it ends at the entry the ledger
recorded last. Exit status 1 and a sentence naming the first broken entry
if anything was changed.`,
				Flags: []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error {
					g, err := e.openReadOnly(c)
					if err != nil {
						return err
					}
					defer g.Close()
					n, err := g.VerifyAudit(c.Context)
					if c.Bool("json") {
						out := map[string]any{"ok": err == nil, "entries": n, "file": g.AuditPath()}
						if err != nil {
							out["error"] = err.Error()
						}
						if jerr := e.json(out); jerr != nil {
							return jerr
						}
						if err != nil {
							return errSilent
						}
						return nil
					}
					if err != nil {
						return err
					}
					fmt.Fprintf(e.stdout, "audit log OK: %d entries, chain intact (%s)\n", n, g.AuditPath())
					return nil
				},
			},
		},
	}
}
