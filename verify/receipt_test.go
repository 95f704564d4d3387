package verify

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
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
