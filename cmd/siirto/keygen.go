package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
	"github.com/urfave/cli/v2"
)

func keygenCommand(env *environment) *cli.Command {
	return &cli.Command{
		Name:      "keygen",
		Usage:     "make a Crypt4GH key pair: NAME.pub and NAME.sec",
		ArgsUsage: "NAME",
		Description: `Writes NAME.pub (the public key, to share) and NAME.sec (the secret key,
readable only by you). The secret key is protected by a passphrase unless
--no-passphrase is given. The passphrase comes from --passphrase-file,
then SIIRTO_PASSPHRASE, then a prompt. Both files work with every
Crypt4GH tool.

You need a key pair to receive data, or to sign bundles with --sender-key.
To send data to the authority you only need its public key.

   siirto keygen alice                 # asks for a passphrase twice
   siirto keygen --no-passphrase ci    # for a test machine only`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-passphrase", Usage: "leave the secret key unprotected (not recommended)"},
			&cli.StringFlag{Name: "passphrase-file", Usage: "read the passphrase from `FILE`", EnvVars: []string{"SIIRTO_PASSPHRASE_FILE"}},
			&cli.BoolFlag{Name: "force", Usage: "replace existing key files"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError{fmt.Errorf("keygen takes one NAME, got %d arguments", c.NArg())}
			}
			name := c.Args().First()
			pubPath, secPath := name+".pub", name+".sec"
			if !c.Bool("force") {
				for _, p := range []string{pubPath, secPath} {
					if _, err := os.Lstat(p); err == nil {
						return verify.Errorf(verify.CodeExists, "%s already exists", p)
					}
				}
			}
			var pass []byte
			if !c.Bool("no-passphrase") {
				var err error
				if pass, err = env.passphrase(c.Context, c.String("passphrase-file"), secPath, true); err != nil {
					return err
				}
			}
			pk, sk, err := encrypt.GenerateKey()
			if err != nil {
				return err
			}
			var pub, sec bytes.Buffer
			if err := encrypt.WritePublicKey(&pub, pk); err != nil {
				return err
			}
			if err := encrypt.WriteSecretKey(&sec, sk, pass); err != nil {
				return err
			}
			if err := writeNew(secPath, sec.Bytes(), 0o600, c.Bool("force")); err != nil {
				return err
			}
			if err := writeNew(pubPath, pub.Bytes(), 0o644, c.Bool("force")); err != nil {
				return err
			}
			protected := ""
			if len(pass) > 0 {
				protected = text("keygen.protected", env.lang)
			}
			return env.result(map[string]any{
				"ok": true, "public_key": pubPath, "secret_key": secPath,
				"fingerprint": pk.Fingerprint(), "passphrase": len(pass) > 0,
			}, fmt.Sprintf(text("keygen.done", env.lang), pubPath, secPath, protected, pk.Fingerprint()))
		},
	}
}

// writeNew writes a small file with mode perm, refusing to replace an
// existing one unless force.
func writeNew(path string, data []byte, perm os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, perm)
	if err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
