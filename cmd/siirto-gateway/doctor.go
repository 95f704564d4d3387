package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/siirto/siirto/gateway"
	"github.com/urfave/cli/v2"
)

func doctorCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check what the gateway needs: folders, keys, databases, audit log, space, TLS, mail, webhook, clock",
		Description: `Changes nothing and sends nothing (the mail server is greeted and left).
Exit status 1 if any check fails; warnings do not fail.`,
		Flags: []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			g, err := e.openReadOnly(c)
			if err != nil {
				return err
			}
			defer g.Close()
			checks := g.Doctor(c.Context)
			failed := 0
			for _, ch := range checks {
				if ch.Status == gateway.CheckFail {
					failed++
				}
			}
			if c.Bool("json") {
				if err := e.json(map[string]any{"ok": failed == 0, "checks": checks}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				for _, ch := range checks {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", map[string]string{gateway.CheckOK: "ok", gateway.CheckWarn: "WARN", gateway.CheckFail: "FAIL"}[ch.Status], ch.Name, ch.Detail)
				}
				tw.Flush()
			}
			if failed > 0 {
				if !c.Bool("json") {
					fmt.Fprintf(e.stderr, "siirto-gateway: %d checks failed\n", failed)
				}
				return errSilent
			}
			return nil
		},
	}
}
