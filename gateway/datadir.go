package gateway

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// Key file names in the data folder's keys/.
const (
	KeyPub        = "gateway.pub"         // give this to uploaders: they encrypt to it
	KeySec        = "gateway.sec"         // passphrase-protected Crypt4GH secret key
	ReceiptSec    = "receipt.key"         // Ed25519 PKCS#8 PEM: signs receipts
	ReceiptPubKey = verify.ReceiptKeyFile // its public half, copied into every journal folder
)

// InitOptions tune Init.
type InitOptions struct {
	// Passphrase protects the gateway's secret key. Empty: a random one is
	// made and written to secrets/key-passphrase (0600), so the gateway
	// starts unattended; move it to a secret store in production.
	Passphrase []byte
	// Config is written as the data folder's gateway.toml.
	Config Config
}

// InitResult says what Init made.
type InitResult struct {
	Dir, ConfigPath, PublicKey, ReceiptKey string
	Fingerprint                            string
}

// Init makes a new data folder at dir: its layout (0700), the gateway's
// Crypt4GH key pair, the receipt signing key, a staff API token and the
// config file. It refuses a folder that already holds a gateway.
func Init(dir string, o InitOptions) (*InitResult, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(abs, ConfigName)
	if _, err := os.Stat(cfgPath); err == nil {
		return nil, fmt.Errorf("%s already holds a gateway (%s exists)", abs, ConfigName)
	}
	c := o.Config
	c.dir = abs
	for _, d := range []string{abs, c.keysDir(), filepath.Join(abs, "secrets"), c.inboxDir(), c.stagingDir(),
		c.rejectedDir(), c.uploadsDir(), c.stateDir(), filepath.Dir(c.auditPath())} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, err
		}
	}
	pass := o.Passphrase
	if len(pass) == 0 {
		pass = []byte(randomToken())
		if err := writeNew(c.path(c.KeyPassphraseFile), append(pass, '\n'), 0o600); err != nil {
			return nil, err
		}
	}
	pk, sk, err := encrypt.GenerateKey()
	if err != nil {
		return nil, err
	}
	var pub, sec bytes.Buffer
	if err := encrypt.WritePublicKey(&pub, pk); err != nil {
		return nil, err
	}
	if err := encrypt.WriteSecretKey(&sec, sk, pass); err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(c.keysDir(), KeySec), sec.Bytes(), 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(c.keysDir(), KeyPub), pub.Bytes(), 0o644); err != nil {
		return nil, err
	}
	rpub, rsec, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(rsec)
	if err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(c.keysDir(), ReceiptSec), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	rpem, err := verify.MarshalReceiptKey(rpub)
	if err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(c.keysDir(), ReceiptPubKey), rpem, 0o644); err != nil {
		return nil, err
	}
	if err := writeNew(c.path(c.StaffTokenFile), []byte(randomToken()+"\n"), 0o600); err != nil {
		return nil, err
	}
	var cfg bytes.Buffer
	cfg.WriteString("# siirto-gateway configuration: every key is described in docs/gateway.md.\n")
	cfg.WriteString("# Environment variables SIIRTO_GATEWAY_<KEY> override it.\n\n")
	c.Data = ""
	if err := toml.NewEncoder(&cfg).Encode(c); err != nil {
		return nil, err
	}
	if err := writeNew(cfgPath, cfg.Bytes(), 0o600); err != nil {
		return nil, err
	}
	return &InitResult{Dir: abs, ConfigPath: cfgPath, PublicKey: filepath.Join(c.keysDir(), KeyPub),
		ReceiptKey: filepath.Join(c.keysDir(), ReceiptPubKey), Fingerprint: pk.Fingerprint()}, nil
}

// randomToken is 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// writeNew writes a file that must not exist yet, through a temp name.
func writeNew(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// keys are the gateway's loaded keys.
type keys struct {
	crypt4gh   encrypt.SecretKey
	receipt    ed25519.PrivateKey
	receiptPub []byte // PEM
}

// loadKeys reads the keys; the passphrase comes from env or the file.
func (c Config) loadKeys(env func(string) string) (*keys, error) {
	pass := []byte(env("SIIRTO_GATEWAY_PASSPHRASE"))
	if len(pass) == 0 && c.KeyPassphraseFile != "" {
		s, err := readSecret(c.path(c.KeyPassphraseFile))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		pass = []byte(s)
	}
	f, err := os.Open(filepath.Join(c.keysDir(), KeySec))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sk, err := encrypt.ParseSecretKey(f, pass)
	if err != nil {
		return nil, fmt.Errorf("the gateway key %s: %w (set SIIRTO_GATEWAY_PASSPHRASE or key_passphrase_file)", f.Name(), err)
	}
	data, err := os.ReadFile(filepath.Join(c.keysDir(), ReceiptSec))
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s is not PEM", ReceiptSec)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ReceiptSec, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s is not an Ed25519 key", ReceiptSec)
	}
	rpub, err := os.ReadFile(filepath.Join(c.keysDir(), ReceiptPubKey))
	if err != nil {
		return nil, err
	}
	return &keys{crypt4gh: sk, receipt: priv, receiptPub: rpub}, nil
}
