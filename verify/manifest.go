package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/siirto/siirto/encrypt"
)

// MaxManifest bounds a manifest's size: a real one is under 1 KiB.
const MaxManifest = 64 << 10

var (
	hexSHA256   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	fingerprint = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}$`)
)

// ParseManifest parses and checks a manifest against the siirto/1 schema
// (docs/bundle-format.md). Unknown fields are refused: a field this
// version does not know could carry meaning it would silently ignore.
func ParseManifest(data []byte) (*encrypt.Manifest, error) {
	if len(data) > MaxManifest {
		return nil, Errorf(CodeManifestInvalid, "the manifest is %d bytes (at most %d)", len(data), MaxManifest)
	}
	var probe struct {
		Format *string `json:"format"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, Errorf(CodeManifestInvalid, "the manifest is not JSON: %v", err)
	}
	if probe.Format == nil {
		return nil, Errorf(CodeManifestInvalid, "the manifest has no \"format\" field")
	}
	if *probe.Format != encrypt.Format {
		return nil, Errorf(CodeFormatUnsupported, "the manifest format is %q; this version reads %q", *probe.Format, encrypt.Format)
	}
	var m encrypt.Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, Errorf(CodeManifestInvalid, "the manifest does not follow the %s schema: %v", encrypt.Format, err)
	}
	if dec.More() {
		return nil, Errorf(CodeManifestInvalid, "the manifest has data after its JSON object")
	}
	if err := checkManifest(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

func checkManifest(m *encrypt.Manifest) error {
	bad := func(format string, args ...any) error {
		return Errorf(CodeManifestInvalid, "the manifest's "+format, args...)
	}
	if err := CheckJournal(m.JournalNumber); err != nil {
		return Errorf(CodeJournalInvalid, "the manifest's journal number: %s", AsError(err).Detail)
	}
	if m.Created.IsZero() {
		return bad("creation time is missing")
	}
	if m.Tool.Name == "" {
		return bad("tool name is missing")
	}
	name, ok := strings.CutSuffix(m.Payload.Name, ".c4gh")
	if !ok {
		return bad("payload name %q does not end in .c4gh", m.Payload.Name)
	}
	if err := CheckName(name); err != nil {
		return err
	}
	if m.Plaintext.Name != name+".zip" {
		return bad("plaintext name %q should be %q", m.Plaintext.Name, name+".zip")
	}
	for _, f := range []encrypt.FileSums{m.Payload, m.Plaintext} {
		if f.Size < 0 {
			return bad("size of %s is negative", f.Name)
		}
		if !hexSHA256.MatchString(f.SHA256) {
			return bad("SHA-256 of %s is not 64 lower-case hex digits", f.Name)
		}
	}
	if m.Payload.Size < 16 {
		return bad("payload size %d is too small for a Crypt4GH file", m.Payload.Size)
	}
	if len(m.Recipients) == 0 || len(m.Recipients) > 64 {
		return bad("recipient list has %d entries (1 to 64 allowed)", len(m.Recipients))
	}
	for _, r := range m.Recipients {
		if !fingerprint.MatchString(r.Fingerprint) {
			return bad("recipient fingerprint %q is malformed", r.Fingerprint)
		}
	}
	if k, err := base64.StdEncoding.DecodeString(m.Sender.PublicKey); err != nil || len(k) != encrypt.KeySize {
		return bad("sender public key is not a base64 X25519 key")
	}
	return nil
}
