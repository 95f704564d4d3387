package main

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/siirto/siirto/verify"
	"golang.org/x/term"
)

// passphrase finds a passphrase without ever taking it from the command
// line (where other users could see it in the process list): from a file,
// then SIIRTO_PASSPHRASE, then a prompt on the terminal. confirm asks
// twice and enforces a minimum length, for new keys.
func (e *environment) passphrase(ctx context.Context, file, keyName string, confirm bool) ([]byte, error) {
	p, err := e.readPassphrase(ctx, file, keyName, confirm)
	if err != nil {
		return nil, err
	}
	// A new key gets the same rule from every source: an empty passphrase
	// would write an unprotected key that the user never asked for.
	if confirm && len(p) < minPassphrase {
		return nil, verify.Errorf(verify.CodePassphrase, "the passphrase for %s has %d characters; use at least %d, or --no-passphrase for an unprotected key", keyName, len(p), minPassphrase)
	}
	return p, nil
}

// minPassphrase is the shortest passphrase accepted for a new key.
const minPassphrase = 8

func (e *environment) readPassphrase(ctx context.Context, file, keyName string, confirm bool) ([]byte, error) {
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
	p, err := readPassword(ctx, int(in.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil || !confirm {
		return p, err
	}
	if len(p) < minPassphrase {
		return p, nil // refused with the reason by passphrase
	}
	fmt.Fprint(e.stderr, text("passphrase.again", e.lang))
	again, err := readPassword(ctx, int(in.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p, again) {
		return nil, verify.Errorf(verify.CodePassphrase, "the two passphrases differ")
	}
	return p, nil
}

// readPassword reads a line without echo, giving up when ctx is done (the
// user pressed Ctrl-C): the terminal's echo is restored before returning.
func readPassword(ctx context.Context, fd int) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	type result struct {
		p   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := term.ReadPassword(fd)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		return nil, ctx.Err()
	}
}
