package verify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// ReceiptFormat versions receipts.
const ReceiptFormat = "siirto-receipt/1"

// ReceiptKeyFile is the name of the gateway's receipt public key in a
// journal folder, beside journal_number.txt and as read-only to uploaders.
const ReceiptKeyFile = "receipt-key.pub"

// ReceiptName is the receipt's file name for a bundle.
func ReceiptName(bundle string) string { return bundle + ".receipt.json" }

// Receipt is the gateway's answer to a bundle, written into the journal
// folder beside it (docs/bundle-format.md, section 8).
type Receipt struct {
	Format        string `json:"format"`
	Bundle        string `json:"bundle"`
	JournalNumber string `json:"journal_number"`
	// ManifestSHA256 binds the receipt to one bundle: the SHA-256 of the
	// manifest file as received, which is also the bundle's id.
	ManifestSHA256 string `json:"manifest_sha256"`
	// Status is "accepted" (verified, decrypted and staged) or "rejected".
	Status string `json:"status"`
	// Code and Advice say why a bundle was rejected.
	Code   Code  `json:"code,omitempty"`
	Advice *Text `json:"advice,omitempty"`
	// Payload is the payload as received: size and SHA-256.
	Payload struct {
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"payload"`
	Time    time.Time `json:"time"`
	Gateway string    `json:"gateway"`
}

// Receipt statuses.
const (
	ReceiptAccepted = "accepted"
	ReceiptRejected = "rejected"
)

// signedReceipt is the file: the receipt and an Ed25519 signature of its
// compact JSON (no insignificant white space, strings as written), so the
// file can be indented, or re-indented by any tool, and still verify.
type signedReceipt struct {
	Receipt   json.RawMessage `json:"receipt"`
	Signature string          `json:"signature"`
}

// SignReceipt returns the receipt file for r, signed with the gateway's key.
func SignReceipt(r *Receipt, key ed25519.PrivateKey) ([]byte, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(signedReceipt{Receipt: body, Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, body))}, "", "  ")
	return append(out, '\n'), err
}

// ParseReceipt checks a receipt file's signature with the gateway's public
// key and returns the receipt. It does not check which bundle it is for:
// see Receipt.For.
func ParseReceipt(data []byte, key ed25519.PublicKey) (*Receipt, error) {
	var s signedReceipt
	if len(data) > MaxManifest {
		return nil, Errorf(CodeReceiptInvalid, "the receipt is %d bytes", len(data))
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, Errorf(CodeReceiptInvalid, "the receipt is not JSON: %v", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, s.Receipt); err != nil {
		return nil, Errorf(CodeReceiptInvalid, "the receipt is not JSON: %v", err)
	}
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil || !ed25519.Verify(key, compact.Bytes(), sig) {
		return nil, Errorf(CodeReceiptInvalid, "the receipt's signature does not match the gateway's key")
	}
	var r Receipt
	dec := json.NewDecoder(bytes.NewReader(s.Receipt))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, Errorf(CodeReceiptInvalid, "the receipt does not follow %s: %v", ReceiptFormat, err)
	}
	if r.Format != ReceiptFormat {
		return nil, Errorf(CodeReceiptInvalid, "receipt format %q, want %q", r.Format, ReceiptFormat)
	}
	if r.Status != ReceiptAccepted && r.Status != ReceiptRejected {
		return nil, Errorf(CodeReceiptInvalid, "receipt status %q", r.Status)
	}
	return &r, nil
}

// ErrReceiptElsewhere is wrapped by For's error for a receipt that answers
// another bundle, or an earlier version of this one (a receipt left by a
// rejected bundle of the same name, before the new one is processed).
var ErrReceiptElsewhere = errors.New("the receipt answers another bundle")

// For checks that the receipt answers the bundle whose manifest is given
// and, if it accepted it, that it received the payload the manifest
// describes, byte for byte.
func (r *Receipt) For(bundle string, manifest []byte) error {
	sum := sha256.Sum256(manifest)
	if r.Bundle != bundle || r.ManifestSHA256 != hex.EncodeToString(sum[:]) {
		return &Error{Code: CodeReceiptInvalid, Detail: "the receipt is for another bundle or another version of " + bundle, Err: ErrReceiptElsewhere}
	}
	if r.Status != ReceiptAccepted {
		return nil
	}
	m, err := ParseManifest(manifest)
	if err != nil {
		return err
	}
	if r.Payload.Size != m.Payload.Size || r.Payload.SHA256 != m.Payload.SHA256 {
		return Errorf(CodeReceiptInvalid, "the gateway received a payload of %d bytes with SHA-256 %s; %d bytes with %s were sent", r.Payload.Size, r.Payload.SHA256, m.Payload.Size, m.Payload.SHA256)
	}
	return nil
}

// MarshalReceiptKey writes the gateway's receipt public key as PEM (PKIX,
// as openssl writes Ed25519 public keys).
func MarshalReceiptKey(key ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParseReceiptKey reads a receipt public key written by MarshalReceiptKey.
func ParseReceiptKey(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, Errorf(CodeKeyInvalid, "not a PEM public key")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, Errorf(CodeKeyInvalid, "%v", err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, Errorf(CodeKeyInvalid, "the receipt key is not an Ed25519 key")
	}
	return ek, nil
}

// String summarises a receipt in English, for logs.
func (r *Receipt) String() string {
	if r.Status == ReceiptAccepted {
		return fmt.Sprintf("%s accepted at %s", r.Bundle, r.Time.Format(time.RFC3339))
	}
	return fmt.Sprintf("%s rejected with %s at %s", r.Bundle, r.Code, r.Time.Format(time.RFC3339))
}
