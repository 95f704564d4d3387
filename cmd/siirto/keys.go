package main

import (
	"bytes"
	"context"
	"errors"
	"os"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// loadPublicKeys reads public key files, naming the file in any error.
func loadPublicKeys(paths []string) ([]encrypt.PublicKey, error) {
	var out []encrypt.PublicKey
	for _, p := range paths {
		pk, err := encrypt.ReadPublicKeyFile(p)
		if errors.Is(err, encrypt.ErrKeyFormat) {
			return nil, verify.Errorf(verify.CodeKeyInvalid, "%w", err)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, pk)
	}
	return out, nil
}

// loadSecretKey reads a secret key file, asking for its passphrase only
// when the key is protected.
func (e *environment) loadSecretKey(ctx context.Context, path, passFile string) (*encrypt.SecretKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pass []byte
	if encrypt.SecretKeyEncrypted(data) {
		if pass, err = e.passphrase(ctx, passFile, path, false); err != nil {
			return nil, err
		}
	}
	sk, err := encrypt.ParseSecretKey(bytes.NewReader(data), pass)
	if err != nil {
		code := verify.CodeKeyInvalid
		if errors.Is(err, encrypt.ErrPassphrase) || errors.Is(err, encrypt.ErrPassphraseRequired) {
			code = verify.CodePassphrase
		}
		// The library's message never includes the passphrase or key.
		return nil, verify.Errorf(code, "%s: %w", path, err)
	}
	return &sk, nil
}
