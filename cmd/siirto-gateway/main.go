// Command siirto-gateway is the permit authority's inbox: it receives
// bundles (over its embedded WebDAV, or in its inbox folder), verifies and
// decrypts them into a private staging area, tells the handlers, writes a
// signed receipt for the uploader, and keeps a ledger and an audit log.
// Run "siirto-gateway --help" for the commands.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/siirto/siirto/gateway"
	"github.com/siirto/siirto/internal/version"
	"github.com/urfave/cli/v2"
)

// buildVersion is set by the Makefile (-ldflags "-X main.buildVersion=…").
var buildVersion = ""

func toolVersion() string { return version.Of(buildVersion) }

func main() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) }

// env is what the commands share: the output streams.
type env struct {
	stdout, stderr io.Writer
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdout: stdout, stderr: stderr}
	app := &cli.App{
		Name:    "siirto-gateway",
		Usage:   "the permit authority's inbox: verify, decrypt to staging, notify, receipt, audit",
		Version: toolVersion(),
		Description: `siirto-gateway receives siirto bundles, checks them with the same rules
as the siirto client, decrypts them into a private staging area, tells the
handlers by email and webhook, and writes a signed receipt into the journal
folder for the uploader. Every step is kept in a ledger (SQLite) and in a
hash-chained audit log.

Getting started, on one machine:

   siirto-gateway init /srv/siirto                        # keys, config, folders
   siirto-gateway -d /srv/siirto journal add THL/1234/14.02.00/2023 --user alice
   siirto-gateway -d /srv/siirto serve                    # WebDAV on 127.0.0.1:8480

Uploaders then run: siirto upload --to http://127.0.0.1:8480/remote.php/dav/files/alice/THL_1234_14.02.00_2023/ …

Configuration: DIR/gateway.toml, then SIIRTO_GATEWAY_<KEY> environment
variables (docs/gateway.md lists them all). Exit status: 0 success, 1 failure,
2 wrong usage.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Aliases: []string{"d"}, EnvVars: []string{"SIIRTO_GATEWAY_DIR"}, Value: ".",
				Usage: "the gateway's data folder (its gateway.toml is the config)"},
			&cli.StringFlag{Name: "config", EnvVars: []string{"SIIRTO_GATEWAY_CONFIG"}, Usage: "the config file, if not DIR/gateway.toml"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format on stderr: text or json"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		},
		Commands: []*cli.Command{
			initCommand(e), serveCommand(e), journalCommand(e), userCommand(e), bundleCommand(e), auditCommand(e), doctorCommand(e),
		},
		Writer:         stdout,
		ErrWriter:      stderr,
		ExitErrHandler: func(*cli.Context, error) {},
	}
	err := app.RunContext(ctx, interspersed(app, args))
	if err == nil {
		return 0
	}
	if errors.Is(err, errSilent) {
		return 1
	}
	fmt.Fprintln(stderr, "siirto-gateway:", err)
	var u usageError
	if errors.As(err, &u) || strings.Contains(err.Error(), "flag provided but not defined") || strings.Contains(err.Error(), "Required flag") {
		return 2
	}
	return 1
}

// errSilent fails a command that has already said why (in --json output).
var errSilent = errors.New("failed")

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func configPath(c *cli.Context) string {
	if p := c.String("config"); p != "" {
		return p
	}
	return filepath.Join(c.String("dir"), gateway.ConfigName)
}

func (e *env) logger(c *cli.Context) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, usagef("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.String("log-format") {
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	}
	return nil, usagef("--log-format: text or json")
}

// open opens the data folder for a command that changes something (and
// audits it).
func (e *env) open(c *cli.Context) (*gateway.Gateway, error) {
	return e.openWith(c, os.Getenv, gateway.Open)
}

// openReadOnly opens the data folder for a command that only reads: it
// works even when the audit log is damaged.
func (e *env) openReadOnly(c *cli.Context) (*gateway.Gateway, error) {
	return e.openWith(c, os.Getenv, gateway.OpenReadOnly)
}

// openWith opens the data folder with open, reading the environment
// through getenv.
func (e *env) openWith(c *cli.Context, getenv func(string) string, open func(context.Context, string, func(string) string, *slog.Logger) (*gateway.Gateway, error)) (*gateway.Gateway, error) {
	log, err := e.logger(c)
	if err != nil {
		return nil, err
	}
	g, err := open(c.Context, configPath(c), getenv, log)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w (run `siirto-gateway init DIR` first, and give -d DIR)", err)
	}
	return g, err
}

func (e *env) json(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"}

// readPassword reads a password from a file ("-" = stdin), or "".
func readPassword(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, 4096))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return "", err
	}
	pw := strings.TrimRight(string(data), "\r\n")
	if len(pw) < 12 {
		return "", usagef("the password must be at least 12 characters")
	}
	return pw, nil
}

func serveCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the gateway: embedded WebDAV, the pipeline, health, metrics and the staff API",
		Description: `Listens on "listen" from the config (127.0.0.1:8480 by default; plain HTTP only
on loopback, TLS with tls_cert and tls_key otherwise) and processes every
complete bundle in DIR/inbox. Ctrl-C or SIGTERM stop it cleanly; a crash
or kill -9 is safe too: on restart each bundle continues where it was.

Endpoints: /remote.php/dav/files/<user>/<journal-folder>/ (WebDAV),
/remote.php/dav/uploads/<user>/ (Nextcloud chunked upload), /healthz,
/readyz, /metrics, /api/v1/journals/{journal}/bundles (staff token).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Usage: "override the listen address"},
		},
		Action: func(c *cli.Context) error {
			getenv := os.Getenv
			if l := c.String("listen"); l != "" {
				// A flag wins over the config file and the environment.
				getenv = func(k string) string {
					if k == "SIIRTO_GATEWAY_LISTEN" {
						return l
					}
					return os.Getenv(k)
				}
			}
			g, err := e.openWith(c, getenv, gateway.Open)
			if err != nil {
				return err
			}
			defer g.Close()
			return g.Serve(c.Context, nil)
		},
	}
}
