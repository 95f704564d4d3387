package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/siirto/siirto/app"
	"github.com/siirto/siirto/encrypt"
	"github.com/urfave/cli/v2"
)

func appCommand(env *environment) *cli.Command {
	return &cli.Command{
		Name:  "app",
		Usage: "the desktop app: send files from your browser in a few clicks",
		Description: `Starts siirto's app on this computer and opens it in your browser. The
app connects to the transfer service, shows the journal number for you
to confirm, packs, encrypts and sends the files or folder you choose
(exactly as siirto send does: no unencrypted copy on disk), waits for
the authority's receipt, and guides the clean-up. It speaks Finnish,
Swedish and English, following the browser.

The app listens on 127.0.0.1 only, behind a secret in the address it
opens; other programs and web pages cannot use it. It stops when its
window has been closed (after finishing a send in progress) or after
--idle-timeout without use.

The authority's public key comes from --recipient or "recipients" in the
configuration file; the transfer services to pick from are its targets
(siirto --help). The "encrypt only" mode writes NAME.c4gh and NAME.json
into a folder, by default --out.

   siirto app
   siirto app --no-browser          # print the address instead
   siirto app --recipient csc.pub --out ~/Deliveries`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "recipient", Aliases: []string{"r"}, Usage: "the authority's public key `FILE` (repeat for several; or recipients in the config file)", EnvVars: []string{"SIIRTO_RECIPIENT"}},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "default `FOLDER` of the encrypt-only mode (default: Downloads)", EnvVars: []string{"SIIRTO_OUT"}},
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:0", Usage: "loopback `ADDRESS` to listen on (default: a free port)"},
			&cli.BoolFlag{Name: "no-browser", Usage: "print the address instead of opening the browser"},
			&cli.DurationFlag{Name: "idle-timeout", Value: 30 * time.Minute, Usage: "stop after this long without use"},
			// How long a closed window is waited for (tests shorten it).
			&cli.DurationFlag{Name: "window-grace", Value: 20 * time.Second, Hidden: true},
		},
		Action: func(c *cli.Context) error {
			if err := env.cfg.defaults(c); err != nil {
				return err
			}
			if len(c.StringSlice("recipient")) == 0 {
				return usageError{fmt.Errorf("give the authority's public key with --recipient (or recipients in the config file)")}
			}
			recipients, err := loadPublicKeys(c.StringSlice("recipient"))
			if err != nil {
				return err
			}
			spool, err := os.UserCacheDir()
			if err != nil {
				spool = os.TempDir()
			}
			tr := &appTransport{cfg: env.cfg, recipients: recipients, tool: encrypt.Tool{Name: "siirto app", Version: toolVersion()}}
			srv, err := app.Listen(app.Config{
				Addr: c.String("addr"), Transport: tr, Targets: tr.targets(), Lang: env.lang,
				OutDir: firstOf(c.String("out"), downloads()), SpoolDir: filepath.Join(spool, "siirto", "app"),
				IdleTimeout: c.Duration("idle-timeout"), WindowGrace: c.Duration("window-grace"),
				Logger: slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			})
			if err != nil {
				return usageError{err}
			}
			if env.json {
				if err := env.result(map[string]string{"url": srv.URL()}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(env.stderr, text("app.url", env.lang), srv.URL())
			}
			if !c.Bool("no-browser") {
				if err := openBrowser(srv.URL()); err != nil {
					fmt.Fprintf(env.stderr, text("app.nobrowser", env.lang), err)
				}
			}
			return srv.Serve(c.Context)
		},
	}
}

// targets lists the configuration file's targets for the app to offer.
func (a *appTransport) targets() []app.Target {
	out := make([]app.Target, 0, len(a.cfg.Targets))
	for name, t := range a.cfg.Targets {
		out = append(out, app.Target{Name: name, URL: t.URL, User: t.User, HasPassword: t.PasswordFile != ""})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// downloads is the user's Downloads folder if there is one, else home.
func downloads() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	if st, err := os.Stat(filepath.Join(home, "Downloads")); err == nil && st.IsDir() {
		return filepath.Join(home, "Downloads")
	}
	return home
}

// openBrowser opens url in the desktop's default browser.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	case "darwin":
		cmd = exec.Command("open", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap it; the browser outlives the opener
	return nil
}

// compile-time check: the app's transport is implemented here.
var _ app.Transport = (*appTransport)(nil)
