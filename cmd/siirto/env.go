package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/siirto/siirto/verify"
	"golang.org/x/term"
)

// environment is what a command may touch besides its arguments: the
// standard streams and the global output settings. Tests provide their own.
type environment struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	json, quiet    bool
	lang           string
	exit           int
	cfg            *config
}

// pickLang returns en, fi or sv from the flag, or else from the locale.
func pickLang(flag string) string {
	for _, v := range []string{flag, os.Getenv("LC_ALL"), os.Getenv("LC_MESSAGES"), os.Getenv("LANG")} {
		v = strings.ToLower(v)
		switch {
		case v == "":
			continue
		case strings.HasPrefix(v, "fi"):
			return "fi"
		case strings.HasPrefix(v, "sv"):
			return "sv"
		default:
			return "en"
		}
	}
	return "en"
}

// terminal reports whether w is an interactive terminal.
func terminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// say prints a line for people on stderr, unless --json or --quiet.
func (e *environment) say(key string, args ...any) {
	if e.json || e.quiet {
		return
	}
	fmt.Fprintf(e.stderr, text(key, e.lang)+"\n", args...)
}

// result prints the outcome: v as JSON with --json, lines for people
// otherwise.
func (e *environment) result(v any, lines ...string) error {
	if e.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	for _, l := range lines {
		fmt.Fprintln(e.stdout, l)
	}
	return nil
}

// jsonError is the shape of every error in --json output.
type jsonError struct {
	Code    verify.Code `json:"code"`
	Title   string      `json:"title"`
	Detail  string      `json:"detail,omitempty"`
	Advice  string      `json:"advice"`
	Exit    int         `json:"exit"`
	Message string      `json:"-"`
}

func describe(err error, lang string) jsonError {
	e := verify.AsError(err)
	info := verify.Lookup(e.Code)
	return jsonError{Code: e.Code, Title: info.Title.In(lang), Detail: e.Detail, Advice: info.Advice.In(lang), Exit: exitCode(e.Code)}
}

// exitCode maps a code to the process exit status documented in --help.
func exitCode(c verify.Code) int {
	if c == verify.CodeInterrupted {
		return 130
	}
	return int(verify.Lookup(c).Class)
}

// fail reports err and returns the exit status. A command that already
// printed its result (verify of several bundles) returns a reported error.
func (e *environment) fail(err error) int {
	var r reported
	if errors.As(err, &r) {
		return r.exit
	}
	d := describe(err, e.lang)
	if e.json {
		_ = e.result(struct {
			OK    bool      `json:"ok"`
			Error jsonError `json:"error"`
		}{false, d})
	} else {
		fmt.Fprintln(e.stderr, "siirto: "+verify.Message(err, e.lang))
	}
	return d.Exit
}

// reported is returned by a command that printed its own outcome and only
// needs the exit status set.
type reported struct{ exit int }

func (r reported) Error() string { return fmt.Sprintf("exit status %d", r.exit) }
