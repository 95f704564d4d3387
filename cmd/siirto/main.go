// Command siirto packs, encrypts and checks data bundles for a health-data
// permit authority. Run "siirto --help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/siirto/siirto/internal/version"
	"github.com/siirto/siirto/verify"
	"github.com/urfave/cli/v2"
)

// buildVersion is set at build time with -ldflags "-X main.buildVersion=…"; the
// module version is used otherwise.
var buildVersion = ""

func toolVersion() string { return version.Of(buildVersion) }

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: tests call it with their own streams.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// The first Ctrl-C (or a closed terminal, or SIGTERM) cancels the work,
	// which then removes its temporary files; after it, signals have their
	// default effect again, so a second Ctrl-C stops siirto at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	env := &environment{stdin: stdin, stdout: stdout, stderr: stderr}
	app := newApp(env)
	err := app.RunContext(ctx, args)
	if err == nil {
		return env.exit
	}
	var usage usageError
	if errors.As(err, &usage) || !isCoded(err) && isFlagError(err) {
		err = verify.Errorf(verify.CodeUsage, "%v", err)
	}
	return env.fail(err)
}

func newApp(env *environment) *cli.App {
	return &cli.App{
		Name:    "siirto",
		Usage:   "send health data to the permit authority, encrypted and verified",
		Version: toolVersion(),
		Description: `siirto turns your files into a bundle the authority can trust: one
Crypt4GH-encrypted zip (NAME.c4gh) and a manifest (NAME.json) that names
the permit's journal number and carries checksums anyone can check.

A typical session:

   siirto keygen mykey                      # only if you need a key of your own
   siirto encrypt --recipient csc.pub --journal journal_number.txt data/
   siirto verify data.json                  # what the authority will check
   siirto upload --to https://…/remote.php/dav/files/me/2022_53/ data.json
   siirto decrypt --key mykey.sec --extract out/ data.json

Exit status: 0 success, 1 unexpected error, 2 wrong usage, 3 the bundle or
its inputs break a rule, 4 key or passphrase problem, 5 local problem
(file exists, disk full, unreadable file), 6 the server or the network,
130 interrupted.
Every refusal prints a stable code such as E_JOURNAL_MISMATCH; see
docs/errors.md. Messages follow --lang, SIIRTO_LANG or LANG (en, fi, sv).`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object on standard output instead of text", EnvVars: []string{"SIIRTO_JSON"}},
			&cli.StringFlag{Name: "lang", Usage: "language of messages: en, fi or sv (default from `LANG`)", EnvVars: []string{"SIIRTO_LANG"}},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar or notes, only results and errors"},
			&cli.StringFlag{Name: "config", Usage: "configuration `FILE` (default: ~/.config/siirto/config.toml where it exists)", EnvVars: []string{"SIIRTO_CONFIG"}},
		},
		Before: func(c *cli.Context) error {
			env.json = c.Bool("json")
			env.quiet = c.Bool("quiet")
			cfg, err := loadConfig(c.String("config"))
			if err != nil {
				env.lang = pickLang(c.String("lang"))
				return err
			}
			env.cfg = cfg
			lang := c.String("lang")
			if lang == "" {
				lang = cfg.Lang
			}
			env.lang = pickLang(lang)
			return nil
		},
		Commands: []*cli.Command{
			keygenCommand(env),
			encryptCommand(env),
			decryptCommand(env),
			verifyCommand(env),
			uploadCommand(env),
			sendCommand(env),
			statusCommand(env),
			appCommand(env),
		},
		Reader:          env.stdin,
		Writer:          env.stdout,
		ErrWriter:       env.stderr,
		ExitErrHandler:  func(*cli.Context, error) {},
		HideHelpCommand: true,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(env.stderr, "siirto: no command %q; run siirto --help\n", name)
			env.exit = int(verify.ClassUsage)
		},
	}
}

type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func isCoded(err error) bool {
	var e *verify.Error
	return errors.As(err, &e)
}

// isFlagError recognises urfave/cli's parse errors, which have no type.
func isFlagError(err error) bool {
	msg := err.Error()
	for _, s := range []string{"flag provided but not defined", "Required flag", "flag needs an argument", "invalid value", "could not parse"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
