package encrypt

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/neicnordic/crypt4gh/keys"
	"golang.org/x/crypto/ssh"
)

// KeySize is the size of an X25519 key in bytes.
const KeySize = 32

// PublicKey is a Crypt4GH (X25519) public key.
type PublicKey [KeySize]byte

// SecretKey is a Crypt4GH (X25519) secret key.
type SecretKey [KeySize]byte

// maxKeyFile bounds how much of a key file is read: real key files are a few
// hundred bytes, so anything larger is not a key.
const maxKeyFile = 64 << 10

// GenerateKey returns a fresh X25519 key pair.
func GenerateKey() (PublicKey, SecretKey, error) {
	pub, sec, err := keys.GenerateKeyPair()
	return PublicKey(pub), SecretKey(sec), err
}

// Public derives the public half of sk.
func (sk SecretKey) Public() PublicKey {
	return PublicKey(keys.DerivePublicKey(sk))
}

// Fingerprint is a short, stable name for a public key, in the style of
// OpenSSH: "SHA256:" and the unpadded base64 of the key's SHA-256.
func (pk PublicKey) Fingerprint() string {
	sum := sha256.Sum256(pk[:])
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// String returns the key as base64, exactly as it appears inside a .pub file.
func (pk PublicKey) String() string {
	return base64.StdEncoding.EncodeToString(pk[:])
}

// ParsePublicKeyString parses the base64 form returned by [PublicKey.String].
func ParsePublicKeyString(s string) (PublicKey, error) {
	var pk PublicKey
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != KeySize {
		return pk, fmt.Errorf("%w: not a base64 X25519 public key", ErrKeyFormat)
	}
	copy(pk[:], b)
	return pk, nil
}

// ParsePublicKey reads a public key file: Crypt4GH, OpenSSL (X25519 or
// Ed25519) or OpenSSH Ed25519, all through the crypt4gh library.
func ParsePublicKey(r io.Reader) (pk PublicKey, err error) {
	data, err := readKeyFile(r)
	if err != nil {
		return pk, err
	}
	if bytes.Contains(data, []byte("PRIVATE KEY")) {
		return pk, fmt.Errorf("%w: this is a secret key file; give the public key (.pub) instead", ErrKeyFormat)
	}
	defer recoverKeyPanic(&err)
	k, err := keys.ReadPublicKey(bytes.NewReader(data))
	if err != nil {
		return pk, fmt.Errorf("%w: %v", ErrKeyFormat, err)
	}
	if k == ([KeySize]byte{}) {
		return pk, fmt.Errorf("%w: the key is all zeros", ErrKeyFormat)
	}
	return PublicKey(k), nil
}

// ReadPublicKeyFile reads the public key file at path (as
// ParsePublicKey), naming the file in an error.
func ReadPublicKeyFile(path string) (PublicKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return PublicKey{}, err
	}
	defer f.Close()
	pk, err := ParsePublicKey(f)
	if err != nil {
		return pk, fmt.Errorf("%s: %w", path, err)
	}
	return pk, nil
}

// SecretKeyEncrypted reports whether a secret key file is protected by a
// passphrase, so a caller knows whether to ask for one.
func SecretKeyEncrypted(data []byte) bool {
	block, _ := pem.Decode(data)
	if block == nil {
		return bytes.Contains(data, []byte("ENCRYPTED"))
	}
	if strings.Contains(block.Type, "ENCRYPTED") {
		return true
	}
	if block.Type == "OPENSSH PRIVATE KEY" {
		// The OpenSSH format says it is protected only inside the blob.
		_, err := ssh.ParseRawPrivateKey(data)
		var missing *ssh.PassphraseMissingError
		return errors.As(err, &missing)
	}
	b := block.Bytes
	if len(b) > len(c4ghMagic)+2 && string(b[:len(c4ghMagic)]) == c4ghMagic {
		n := int(binary.BigEndian.Uint16(b[len(c4ghMagic):]))
		kdf := b[len(c4ghMagic)+2:]
		return !(n <= len(kdf) && string(kdf[:n]) == "none")
	}
	return false
}

// ParseSecretKey reads a secret key file (Crypt4GH, OpenSSL or OpenSSH).
// passphrase may be nil for an unprotected key.
func ParseSecretKey(r io.Reader, passphrase []byte) (sk SecretKey, err error) {
	data, err := readKeyFile(r)
	if err != nil {
		return sk, err
	}
	if !bytes.Contains(data, []byte("PRIVATE KEY")) {
		return sk, fmt.Errorf("%w: not a secret key file (a .pub file holds only the public key)", ErrKeyFormat)
	}
	encrypted := SecretKeyEncrypted(data)
	if encrypted && len(passphrase) == 0 {
		return sk, ErrPassphraseRequired
	}
	if !encrypted {
		passphrase = nil
	}
	defer recoverKeyPanic(&err)
	k, err := keys.ReadPrivateKey(bytes.NewReader(data), passphrase)
	if err != nil {
		if encrypted {
			return sk, fmt.Errorf("%w: %v", ErrPassphrase, err)
		}
		return sk, fmt.Errorf("%w: %v", ErrKeyFormat, err)
	}
	if k == ([KeySize]byte{}) {
		return sk, fmt.Errorf("%w: the key is all zeros", ErrKeyFormat)
	}
	return SecretKey(k), nil
}

// WritePublicKey writes pk in the Crypt4GH public key format.
func WritePublicKey(w io.Writer, pk PublicKey) error {
	return keys.WriteCrypt4GHX25519PublicKey(w, pk)
}

// WriteSecretKey writes sk in the Crypt4GH secret key format, protected with
// passphrase (scrypt and ChaCha20-Poly1305) unless the passphrase is empty.
func WriteSecretKey(w io.Writer, sk SecretKey, passphrase []byte) error {
	if len(passphrase) > 0 {
		return keys.WriteCrypt4GHX25519PrivateKey(w, sk, passphrase)
	}
	// The library only writes protected keys; the unprotected form is the
	// same container with kdf and cipher "none" (crypt4gh key spec).
	var b bytes.Buffer
	b.WriteString(c4ghMagic)
	for _, field := range [][]byte{[]byte("none"), []byte("none"), sk[:]} {
		_ = binary.Write(&b, binary.BigEndian, uint16(len(field)))
		b.Write(field)
	}
	return pem.Encode(w, &pem.Block{Type: "CRYPT4GH PRIVATE KEY", Bytes: b.Bytes()})
}

const c4ghMagic = "c4gh-v1"

func readKeyFile(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%w: file is too large to be a key", ErrKeyFormat)
	}
	return data, nil
}

// recoverKeyPanic turns a panic inside the key parser into an error: the
// pinned library indexes some fields without bounds checks, and a malformed
// key file must give an error, not a crash.
func recoverKeyPanic(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: malformed key file", ErrKeyFormat)
	}
}

// Errors returned by the key functions. Callers match them with errors.Is.
var (
	ErrKeyFormat          = errors.New("unrecognised key file")
	ErrPassphraseRequired = errors.New("the secret key is protected by a passphrase, and none was given")
	ErrPassphrase         = errors.New("the passphrase does not open the secret key")
)
