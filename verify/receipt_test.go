package verify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func TestReceiptRoundTrip(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	manifest := []byte(`{"format":"siirto/1"}`)
	r := &Receipt{Format: ReceiptFormat, Bundle: "cohort", JournalNumber: "2022/53", Status: ReceiptRejected,
		Code: CodeTampered, Advice: &Text{EN: "a", FI: "b", SV: "c"}, Time: time.Now().UTC().Truncate(time.Second), Gateway: "gw"}
	r.ManifestSHA256 = "4c8c7b1f7f3bd3a77eb9a3b9f4ac0c3b84b1e4c5a71c05ba5f3a43a34b2e84b2"
	data, err := SignReceipt(r, priv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseReceipt(data, pub)
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != CodeTampered || got.Advice.FI != "b" || !got.Time.Equal(r.Time) {
		t.Fatalf("round trip changed the receipt: %+v", got)
	}
	// Re-indented by some tool, it still verifies.
	var again bytes.Buffer
	if err := json.Indent(&again, bytes.ReplaceAll(data, []byte("\n"), nil), "", "\t"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseReceipt(again.Bytes(), pub); err != nil {
		t.Fatalf("a re-indented receipt: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if _, err := ParseReceipt(data, other); CodeOf(err) != CodeReceiptInvalid {
		t.Fatalf("another gateway's key: %v", err)
	}
	if err := got.For("cohort", manifest); CodeOf(err) != CodeReceiptInvalid {
		t.Fatalf("a receipt for another manifest: %v", err)
	}
	key, _ := MarshalReceiptKey(pub)
	if k, err := ParseReceiptKey(key); err != nil || !k.Equal(pub) {
		t.Fatalf("receipt key round trip: %v", err)
	}
}

// TestReceiptMustNameThePayloadSent: an accepted receipt for the right
// manifest but another payload (size or SHA-256) is not trusted.
func TestReceiptMustNameThePayloadSent(t *testing.T) {
	manifest, err := os.ReadFile("../testdata/bundles/good/multi-recipient/THL_1234_14.02.00_2023/cohort.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(manifest)
	name := strings.TrimSuffix(m.Payload.Name, ".c4gh")
	r := &Receipt{Format: ReceiptFormat, Bundle: name, Status: ReceiptAccepted, ManifestSHA256: hex.EncodeToString(sum[:])}
	r.Payload.Size, r.Payload.SHA256 = m.Payload.Size, m.Payload.SHA256
	if err := r.For(name, manifest); err != nil {
		t.Fatalf("a receipt naming the payload sent: %v", err)
	}
	r.Payload.SHA256 = strings.Repeat("0", 64)
	if err := r.For(name, manifest); CodeOf(err) != CodeReceiptInvalid {
		t.Fatalf("a receipt naming another payload: %v", err)
	}
}
