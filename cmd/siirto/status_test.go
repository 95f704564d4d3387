package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siirto/siirto/verify"
)

// gatewayReceipt writes a receipt into the journal folder the way the
// gateway will: signed with its key, bound to the manifest as received.
func gatewayReceipt(t *testing.T, folder, name string, key ed25519.PrivateKey, status string, code verify.Code, tamper bool) {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join(folder, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(manifest)
	r := &verify.Receipt{Format: verify.ReceiptFormat, Bundle: name, JournalNumber: "THL/1234/14.02.00/2023",
		ManifestSHA256: hex.EncodeToString(sum[:]), Status: status, Code: code, Time: time.Now().UTC(), Gateway: "test"}
	m, err := verify.ParseManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	r.Payload.Size, r.Payload.SHA256 = m.Payload.Size, m.Payload.SHA256
	data, err := verify.SignReceipt(r, key)
	if err != nil {
		t.Fatal(err)
	}
	if tamper {
		edited := strings.Replace(string(data), `"status": "rejected"`, `"status": "accepted"`, 1)
		if edited == string(data) {
			t.Fatal("the tamper step changed nothing")
		}
		data = []byte(edited)
	}
	// Written under a hidden name and renamed, as the gateway must.
	tmp := filepath.Join(folder, "."+verify.ReceiptName(name)+".part")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Error(err)
	}
	if err := os.Rename(tmp, filepath.Join(folder, verify.ReceiptName(name))); err != nil {
		t.Error(err)
	}
}

func TestStatus(t *testing.T) {
	dir := workspace(t)
	mustRun(t, dir, "encrypt", "-r", "authority.pub", "cohort")
	folder := journalFolder(t, t.TempDir(), "THL/1234/14.02.00/2023")
	to := "file://" + folder + "/"
	mustRun(t, dir, "upload", "--to", to, "cohort.json")

	pub, priv, _ := ed25519.GenerateKey(nil)
	pem, _ := verify.MarshalReceiptKey(pub)
	// Without a key to check receipts with, status refuses to trust one.
	wantFail(t, dir, 6, verify.CodeReceiptInvalid, "status", "--to", to, "cohort.json")
	os.WriteFile(filepath.Join(folder, verify.ReceiptKeyFile), pem, 0o644)

	wantFail(t, dir, 6, verify.CodeNoReceipt, "status", "--to", to, "cohort.json")

	// A receipt that arrives while siirto waits, after a stale one: a
	// rejected earlier bundle's of the same name, which must not end the wait.
	stale := &verify.Receipt{Format: verify.ReceiptFormat, Bundle: "cohort", JournalNumber: "THL/1234/14.02.00/2023",
		ManifestSHA256: strings.Repeat("ab", 32), Status: verify.ReceiptRejected, Code: verify.CodeTampered, Time: time.Now().UTC(), Gateway: "test"}
	staleData, err := verify.SignReceipt(stale, priv)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(folder, verify.ReceiptName("cohort")), staleData, 0o644)
	go func() {
		time.Sleep(300 * time.Millisecond)
		gatewayReceipt(t, folder, "cohort", priv, verify.ReceiptAccepted, "", false)
	}()
	// --clean deletes only on the word of a key given out of band.
	wantFail(t, dir, 2, verify.CodeUsage, "status", "--to", to, "--clean", "cohort", "--yes", "cohort.json")
	write(t, filepath.Join(dir, "gateway.pub"), string(pem))
	out := mustRun(t, dir, "status", "--receipt-key", "gateway.pub", "--wait", "--interval", "50ms", "--timeout", "10s", "--to", to, "--clean", "cohort", "--clean", "cohort.c4gh", "--yes", "cohort.json")
	if !strings.Contains(out, "The authority received cohort") {
		t.Fatalf("status: %s", out)
	}
	for _, p := range []string{"cohort", "cohort.c4gh"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("--clean --yes kept %s", p)
		}
	}
	// Without a terminal, --clean needs --yes: nothing is deleted silently.
	wantFail(t, dir, 2, verify.CodeUsage, "status", "--receipt-key", "gateway.pub", "--to", to, "--clean", "cohort.json", "cohort.json")

	// A rejected bundle: exit 3 and the reason in the user's language.
	gatewayReceipt(t, folder, "cohort", priv, verify.ReceiptRejected, verify.CodeJournalMismatch, false)
	code, out, _ := siirto(t, dir, "--lang", "fi", "status", "--to", to, "cohort.json")
	if code != 3 || !strings.Contains(out, "Diaarinumero ei täsmää") {
		t.Fatalf("rejected: exit %d, %s", code, out)
	}
	// A receipt edited to say accepted no longer verifies.
	gatewayReceipt(t, folder, "cohort", priv, verify.ReceiptRejected, verify.CodeTampered, true)
	wantFail(t, dir, 6, verify.CodeReceiptInvalid, "status", "--to", to, "cohort.json")
	// A receipt for another version of the bundle (an earlier one of the
	// same name) does not answer this one: its answer is still to come.
	gatewayReceipt(t, folder, "cohort", priv, verify.ReceiptAccepted, "", false)
	os.WriteFile(filepath.Join(dir, "cohort.json"), []byte("{}"), 0o644)
	wantFail(t, dir, 6, verify.CodeNoReceipt, "status", "--to", to, "cohort.json")
	// A key from another gateway does not verify it.
	otherPub, _, _ := ed25519.GenerateKey(nil)
	otherPem, _ := verify.MarshalReceiptKey(otherPub)
	write(t, filepath.Join(dir, "other-gw.pub"), string(otherPem))
	os.Remove(filepath.Join(dir, "cohort.json"))
	wantFail(t, dir, 6, verify.CodeReceiptInvalid, "status", "--receipt-key", "other-gw.pub", "--to", to, "cohort.json")
}
