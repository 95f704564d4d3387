package encrypt

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/neicnordic/crypt4gh/keys"
	"golang.org/x/crypto/ssh"
)

func TestKeysReadableByLibrary(t *testing.T) {
	pk, sk := mustKey(t)
	for _, pass := range [][]byte{nil, []byte("correct horse")} {
		var pub, sec bytes.Buffer
		if err := WritePublicKey(&pub, pk); err != nil {
			t.Fatal(err)
		}
		if err := WriteSecretKey(&sec, sk, pass); err != nil {
			t.Fatal(err)
		}
		lpk, err := keys.ReadPublicKey(bytes.NewReader(pub.Bytes()))
		if err != nil || lpk != pk {
			t.Fatalf("library read our public key: %v", err)
		}
		lsk, err := keys.ReadPrivateKey(bytes.NewReader(sec.Bytes()), pass)
		if err != nil || lsk != sk {
			t.Fatalf("library read our secret key (passphrase %q): %v", pass, err)
		}
		if got := SecretKeyEncrypted(sec.Bytes()); got != (pass != nil) {
			t.Errorf("SecretKeyEncrypted = %v for passphrase %q", got, pass)
		}
	}
}

func TestLibraryKeysReadable(t *testing.T) {
	pub, priv, err := keys.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	var c4ghPub, c4ghSec, sslPub, sslSec bytes.Buffer
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(keys.WriteCrypt4GHX25519PublicKey(&c4ghPub, pub))
	must(keys.WriteCrypt4GHX25519PrivateKey(&c4ghSec, priv, []byte("pw")))
	must(keys.WriteOpenSSLX25519PublicKey(&sslPub, pub))
	must(keys.WriteOpenSSLX25519PrivateKey(&sslSec, priv))

	for name, b := range map[string][]byte{"crypt4gh": c4ghPub.Bytes(), "openssl": sslPub.Bytes()} {
		pk, err := ParsePublicKey(bytes.NewReader(b))
		if err != nil || pk != PublicKey(pub) {
			t.Errorf("%s public key: %v", name, err)
		}
	}
	sk, err := ParseSecretKey(bytes.NewReader(c4ghSec.Bytes()), []byte("pw"))
	if err != nil || sk != SecretKey(priv) {
		t.Errorf("crypt4gh secret key: %v", err)
	}
	sk, err = ParseSecretKey(bytes.NewReader(sslSec.Bytes()), nil)
	if err != nil || sk != SecretKey(priv) {
		t.Errorf("openssl secret key: %v", err)
	}
	if sk.Public() != PublicKey(pub) {
		t.Error("Public() does not derive the matching public key")
	}
}

func TestSecretKeyErrors(t *testing.T) {
	pk, sk := mustKey(t)
	var pub, sec bytes.Buffer
	_ = WritePublicKey(&pub, pk)
	_ = WriteSecretKey(&sec, sk, []byte("right"))

	cases := []struct {
		name string
		data []byte
		pass []byte
		want error
	}{
		{"no passphrase", sec.Bytes(), nil, ErrPassphraseRequired},
		{"wrong passphrase", sec.Bytes(), []byte("wrong"), ErrPassphrase},
		{"public key given", pub.Bytes(), nil, ErrKeyFormat},
		{"garbage", []byte("hello"), nil, ErrKeyFormat},
		{"truncated crypt4gh", []byte("-----BEGIN CRYPT4GH PRIVATE KEY-----\nYzRnaC12MQAEbm9uZQ==\n-----END CRYPT4GH PRIVATE KEY-----\n"), nil, ErrKeyFormat},
		{"huge", bytes.Repeat([]byte("A"), maxKeyFile+1), nil, ErrKeyFormat},
	}
	for _, c := range cases {
		_, err := ParseSecretKey(bytes.NewReader(c.data), c.pass)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), string(c.pass)) && len(c.pass) > 0 {
			t.Errorf("%s: the error repeats the passphrase", c.name)
		}
	}
	if _, err := ParsePublicKey(bytes.NewReader(sec.Bytes())); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("secret key given as public: got %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	var pk PublicKey
	// SHA-256 of 32 zero bytes, base64 without padding.
	if got, want := pk.Fingerprint(), "SHA256:Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU"; got != want {
		t.Fatalf("Fingerprint = %s, want %s", got, want)
	}
	pk2, err := ParsePublicKeyString(pk.String())
	if err != nil || pk2 != pk {
		t.Fatal("String does not round-trip")
	}
}

func TestProtectedOpenSSHKey(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(edKey, "", []byte("pass phrase"))
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(block)
	if !SecretKeyEncrypted(data) {
		t.Fatal("a protected OpenSSH key was not recognised as protected")
	}
	if _, err := ParseSecretKey(bytes.NewReader(data), nil); !errors.Is(err, ErrPassphraseRequired) {
		t.Fatalf("no passphrase: got %v", err)
	}
	if _, err := ParseSecretKey(bytes.NewReader(data), []byte("pass phrase")); err != nil {
		t.Fatalf("with the passphrase: %v", err)
	}
	plain, _ := ssh.MarshalPrivateKey(edKey, "")
	if SecretKeyEncrypted(pem.EncodeToMemory(plain)) {
		t.Fatal("an unprotected OpenSSH key was taken for protected")
	}
}
