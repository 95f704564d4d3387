package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/siirto/siirto/verify"
	"golang.org/x/term"
)

// passphrase finds a passphrase without ever taking it from the command
// line (where other users could see it in the process list): from a file,
// then SIIRTO_PASSPHRASE, then a prompt on the terminal. confirm asks
// twice and enforces a minimum length, for new keys.
func (e *environment) passphrase(file, keyName string, confirm bool) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		// A file written by an editor or echo ends in a line break that is
		// not part of the passphrase.
		return bytes.TrimRight(b, "\r\n"), nil
	}
	if p, ok := os.LookupEnv("SIIRTO_PASSPHRASE"); ok {
		return []byte(p), nil
	}
	in, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return nil, verify.Errorf(verify.CodePassphrase,
			"no passphrase for %s: there is no terminal to ask on, so give --passphrase-file or SIIRTO_PASSPHRASE", keyName)
	}
	prompt := "passphrase.prompt"
	if confirm {
		prompt = "passphrase.new"
	}
	fmt.Fprintf(e.stderr, text(prompt, e.lang), keyName)
	p, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, err
	}
	if !confirm {
		return p, nil
	}
	if len(p) < 8 {
		return nil, verify.Errorf(verify.CodePassphrase, "the passphrase is shorter than 8 characters")
	}
	fmt.Fprint(e.stderr, text("passphrase.again", e.lang))
	again, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p, again) {
		return nil, verify.Errorf(verify.CodePassphrase, "the two passphrases differ")
	}
	return p, nil
}
