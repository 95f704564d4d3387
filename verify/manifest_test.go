package verify_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

func TestParseManifestAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*encrypt.Manifest)
	}{
		{"sample", func(*encrypt.Manifest) {}},
		{"smallest payload", func(m *encrypt.Manifest) { m.Payload.Size = 16 }},
		{"empty plaintext", func(m *encrypt.Manifest) { m.Plaintext.Size = 0 }},
		{"no listing", func(m *encrypt.Manifest) { m.Listing = false }},
		{"registered sender", func(m *encrypt.Manifest) { m.Sender.Ephemeral = false }},
		{"offset time", func(m *encrypt.Manifest) { m.Created = m.Created.In(time.FixedZone("", 2*3600)) }},
		{"64 recipients", func(m *encrypt.Manifest) { m.Recipients = repeatRecipient(64) }},
		{"no tool version", func(m *encrypt.Manifest) { m.Tool.Version = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sampleManifest()
			tc.edit(m)
			got, err := verify.ParseManifest(mustMarshal(t, m))
			if err != nil {
				t.Fatalf("ParseManifest refused: %v", err)
			}
			if !manifestsEqual(got, m) {
				t.Fatalf("parsed manifest differs:\n got %+v\nwant %+v", got, m)
			}
		})
	}
}

func TestParseManifestAtSizeLimit(t *testing.T) {
	data := mustMarshal(t, sampleManifest())
	// Blanks after the object are valid JSON and change nothing else.
	padded := append(data, bytes.Repeat([]byte(" "), verify.MaxManifest-len(data))...)
	if _, err := verify.ParseManifest(padded); err != nil {
		t.Fatalf("a manifest of exactly %d bytes was refused: %v", len(padded), err)
	}
	_, err := verify.ParseManifest(append(padded, ' '))
	if c := verify.CodeOf(err); c != verify.CodeManifestInvalid {
		t.Fatalf("a manifest of %d bytes: code %s (%v), want %s", len(padded)+1, c, err, verify.CodeManifestInvalid)
	}
}

func TestParseManifestRefuses(t *testing.T) {
	good := string(mustMarshal(t, sampleManifest()))
	edit := func(f func(*encrypt.Manifest)) string {
		m := sampleManifest()
		f(m)
		return string(mustMarshal(t, m))
	}
	for _, tc := range []struct {
		name string
		data string
		want verify.Code
	}{
		{"empty", "", verify.CodeManifestInvalid},
		{"not JSON", "format: siirto/1", verify.CodeManifestInvalid},
		{"array", "[]", verify.CodeManifestInvalid},
		{"truncated", good[:len(good)/2], verify.CodeManifestInvalid},
		{"no format", strings.Replace(good, `"format": "siirto/1",`, "", 1), verify.CodeManifestInvalid},
		{"null format", strings.Replace(good, `"siirto/1"`, "null", 1), verify.CodeManifestInvalid},
		{"numeric format", strings.Replace(good, `"siirto/1"`, "1", 1), verify.CodeManifestInvalid},
		{"format siirto/2", strings.Replace(good, `"siirto/1"`, `"siirto/2"`, 1), verify.CodeFormatUnsupported},
		{"format empty", strings.Replace(good, `"siirto/1"`, `""`, 1), verify.CodeFormatUnsupported},
		{"unknown field", strings.Replace(good, `"listing"`, `"comment": "hi", "listing"`, 1), verify.CodeManifestInvalid},
		{"unknown nested field", strings.Replace(good, `"ephemeral"`, `"name": "x", "ephemeral"`, 1), verify.CodeManifestInvalid},
		{"trailing object", good + "{}", verify.CodeManifestInvalid},
		{"wrong type", strings.Replace(good, `"size": 1234`, `"size": "1234"`, 1), verify.CodeManifestInvalid},
		{"oversized", good + strings.Repeat(" ", verify.MaxManifest), verify.CodeManifestInvalid},
		{"journal invalid", edit(func(m *encrypt.Manifest) { m.JournalNumber = "a/../b" }), verify.CodeJournalInvalid},
		{"journal empty", edit(func(m *encrypt.Manifest) { m.JournalNumber = "" }), verify.CodeJournalInvalid},
		{"no creation time", edit(func(m *encrypt.Manifest) { m.Created = time.Time{} }), verify.CodeManifestInvalid},
		{"no tool name", edit(func(m *encrypt.Manifest) { m.Tool.Name = "" }), verify.CodeManifestInvalid},
		{"payload not .c4gh", edit(func(m *encrypt.Manifest) { m.Payload.Name = "cohort.zip" }), verify.CodeManifestInvalid},
		{"payload name invalid", edit(func(m *encrypt.Manifest) {
			m.Payload.Name, m.Plaintext.Name = "my data.c4gh", "my data.zip"
		}), verify.CodeNameInvalid},
		{"plaintext name differs", edit(func(m *encrypt.Manifest) { m.Plaintext.Name = "other.zip" }), verify.CodeManifestInvalid},
		{"negative plaintext size", edit(func(m *encrypt.Manifest) { m.Plaintext.Size = -1 }), verify.CodeManifestInvalid},
		{"payload size 0", edit(func(m *encrypt.Manifest) { m.Payload.Size = 0 }), verify.CodeManifestInvalid},
		{"payload size 15", edit(func(m *encrypt.Manifest) { m.Payload.Size = 15 }), verify.CodeManifestInvalid},
		{"upper-case sha", edit(func(m *encrypt.Manifest) { m.Payload.SHA256 = strings.ToUpper(m.Payload.SHA256) }), verify.CodeManifestInvalid},
		{"short sha", edit(func(m *encrypt.Manifest) { m.Plaintext.SHA256 = m.Plaintext.SHA256[:63] }), verify.CodeManifestInvalid},
		{"no recipients", edit(func(m *encrypt.Manifest) { m.Recipients = nil }), verify.CodeManifestInvalid},
		{"65 recipients", edit(func(m *encrypt.Manifest) { m.Recipients = repeatRecipient(65) }), verify.CodeManifestInvalid},
		{"bad fingerprint", edit(func(m *encrypt.Manifest) { m.Recipients[0].Fingerprint = "MD5:abc" }), verify.CodeManifestInvalid},
		{"sender not base64", edit(func(m *encrypt.Manifest) { m.Sender.PublicKey = "not a key!" }), verify.CodeManifestInvalid},
		{"sender too short", edit(func(m *encrypt.Manifest) { m.Sender.PublicKey = "AAAA" }), verify.CodeManifestInvalid},
		{"sender missing", edit(func(m *encrypt.Manifest) { m.Sender.PublicKey = "" }), verify.CodeManifestInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := verify.ParseManifest([]byte(tc.data))
			if c := verify.CodeOf(err); c != tc.want {
				t.Fatalf("code %s (%v), want %s", c, err, tc.want)
			}
			if m != nil {
				t.Fatal("a refused manifest was returned")
			}
		})
	}
}

func repeatRecipient(n int) []encrypt.Recipient {
	r := make([]encrypt.Recipient, n)
	for i := range r {
		r[i] = encrypt.Recipient{Fingerprint: "SHA256:" + strings.Repeat("B", 43)}
	}
	return r
}
