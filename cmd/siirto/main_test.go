package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siirto/siirto/verify"
)

// siirto runs siirto in-process in dir and returns the exit status and output.
func siirto(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	old, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(old)
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"siirto"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func mustRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	code, out, errOut := siirto(t, dir, args...)
	if code != 0 {
		t.Fatalf("siirto %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// wantFail runs siirto and checks the exit status and the code in --json output.
func wantFail(t *testing.T, dir string, exit int, code verify.Code, args ...string) {
	t.Helper()
	got, out, errOut := siirto(t, dir, append([]string{"--json"}, args...)...)
	if got != exit {
		t.Fatalf("siirto %s: exit %d, want %d\n%s%s", strings.Join(args, " "), got, exit, out, errOut)
	}
	if code != "" && !strings.Contains(out, `"`+string(code)+`"`) {
		t.Fatalf("siirto %s: output lacks %s:\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
}

// workspace makes a folder like an applicant's: keys, journal_number.txt
// and a data folder.
func workspace(t *testing.T) string {
	t.Helper()
	t.Setenv("SIIRTO_PASSPHRASE", "")
	os.Unsetenv("SIIRTO_PASSPHRASE")
	dir := t.TempDir()
	mustRun(t, dir, "keygen", "--no-passphrase", "authority")
	mustRun(t, dir, "keygen", "--no-passphrase", "other")
	write(t, filepath.Join(dir, "journal_number.txt"), "THL/1234/14.02.00/2023\n")
	write(t, filepath.Join(dir, "cohort/persons.csv"), strings.Repeat("id;birth_year\n1;1970\n", 4000))
	write(t, filepath.Join(dir, "cohort/forms/consent.txt"), "signed")
	return dir
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFolderRoundTrip(t *testing.T) {
	dir := workspace(t)
	out := mustRun(t, dir, "--json", "encrypt", "-r", "authority.pub", "cohort")
	var res struct {
		OK      bool
		Payload string
		Bundle  struct {
			JournalNumber string `json:"journal_number"`
			Listing       bool
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, out)
	}
	if !res.OK || res.Payload != "cohort.c4gh" || res.Bundle.JournalNumber != "THL/1234/14.02.00/2023" || !res.Bundle.Listing {
		t.Fatalf("unexpected result %+v", res)
	}
	if out := mustRun(t, dir, "verify", "cohort.json"); !strings.HasPrefix(out, "OK") {
		t.Fatalf("verify: %s", out)
	}
	if out := mustRun(t, dir, "verify", "--key", "authority.sec", "--recipient", "authority.pub", "."); !strings.Contains(out, "2 files") {
		t.Fatalf("verify --key: %s", out)
	}
	mustRun(t, dir, "decrypt", "--key", "authority.sec", "--extract", "received", "cohort.json")
	for _, f := range []string{"cohort/persons.csv", "cohort/forms/consent.txt"} {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, err := os.ReadFile(filepath.Join(dir, "received", f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs after the round trip: %v", f, err)
		}
	}
	// The default output is NAME.zip, and an existing one is kept.
	mustRun(t, dir, "decrypt", "--key", "authority.sec", "cohort.c4gh")
	wantFail(t, dir, 5, verify.CodeExists, "decrypt", "--key", "authority.sec", "cohort")
	mustRun(t, dir, "decrypt", "--force", "--key", "authority.sec", "cohort")
	// Encrypting again refuses to overwrite, unless --force.
	wantFail(t, dir, 5, verify.CodeExists, "encrypt", "-r", "authority.pub", "cohort")
	mustRun(t, dir, "encrypt", "--force", "-r", "authority.pub", "cohort")
}

func TestReadyZipIsEncryptedAsIs(t *testing.T) {
	dir := workspace(t)
	zipPath := filepath.Join(dir, "extract_2023.zip")
	f, _ := os.Create(zipPath)
	zw := zip.NewWriter(f)
	w, _ := zw.Create("table.csv")
	w.Write([]byte("a;b\n"))
	zw.Close()
	f.Close()

	mustRun(t, dir, "encrypt", "-r", "authority.pub", "--out", "outbox", "extract_2023.zip")
	mustRun(t, dir, "decrypt", "-k", "authority.sec", "-o", "back.zip", "outbox/extract_2023.json")
	a, _ := os.ReadFile(zipPath)
	b, _ := os.ReadFile(filepath.Join(dir, "back.zip"))
	if !bytes.Equal(a, b) {
		t.Fatal("the ready zip did not come back byte for byte")
	}
}

// TestDecryptToStdout streams the zip to standard output when that is a
// write-only file, as after "> out.zip" in a shell: it cannot be read
// back, so only the checksums are checked.
func TestDecryptToStdout(t *testing.T) {
	dir := workspace(t)
	mustRun(t, dir, "encrypt", "-r", "authority.pub", "cohort")
	out, err := os.OpenFile(filepath.Join(dir, "stdout.zip"), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	old, _ := os.Getwd()
	os.Chdir(dir)
	code := run([]string{"siirto", "decrypt", "-k", "authority.sec", "-o", "-", "cohort.json"}, strings.NewReader(""), out, &stderr)
	os.Chdir(old)
	out.Close()
	if code != 0 {
		t.Fatalf("decrypt -o -: exit %d: %s", code, stderr.String())
	}
	zr, err := zip.OpenReader(filepath.Join(dir, "stdout.zip"))
	if err != nil {
		t.Fatalf("standard output is not the zip: %v", err)
	}
	defer zr.Close()
	if len(zr.File) != 3 {
		t.Fatalf("%d entries, want 2 files and the listing", len(zr.File))
	}
}

func TestRefusals(t *testing.T) {
	dir := workspace(t)
	write(t, filepath.Join(dir, "my data.zip"), "")
	mustRun(t, dir, "encrypt", "-r", "authority.pub", "cohort")

	// A password-protected zip.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateRaw(&zip.FileHeader{Name: "x", Flags: 1})
	w.Write([]byte("ciphertext"))
	zw.Close()
	write(t, filepath.Join(dir, "locked.zip"), buf.String())

	cases := []struct {
		exit int
		code verify.Code
		args []string
	}{
		{3, verify.CodeNameInvalid, []string{"encrypt", "-r", "authority.pub", "my data.zip"}},
		{3, verify.CodeZipEncrypted, []string{"encrypt", "-r", "authority.pub", "locked.zip"}},
		{3, verify.CodeNameInvalid, []string{"encrypt", "-r", "authority.pub", "--name", "a/b", "cohort"}},
		{4, verify.CodeKeyInvalid, []string{"encrypt", "-r", "authority.sec", "--name", "x", "cohort"}},
		{4, verify.CodeWrongKey, []string{"decrypt", "-k", "other.sec", "-o", "x.zip", "cohort.json"}},
		{3, verify.CodeRecipientMissing, []string{"verify", "-r", "other.pub", "cohort.json"}},
		{3, verify.CodeSenderUnknown, []string{"verify", "--sender", "authority.pub", "cohort.json"}},
		{3, verify.CodeJournalMismatch, []string{"verify", "--journal-folder", "."}},
		{2, verify.CodeUsage, []string{"encrypt", "cohort"}},
		{2, verify.CodeUsage, []string{"encrypt", "--no-such-flag", "cohort"}},
		{2, verify.CodeUsage, []string{"decrypt", "-k", "authority.sec", "-o", "a", "-x", "b", "cohort.json"}},
		{3, verify.CodeManifestMissing, []string{"verify", "missing.json"}},
		{5, verify.CodeIO, []string{"encrypt", "-r", "missing.pub", "cohort"}},
	}
	for _, c := range cases {
		wantFail(t, dir, c.exit, c.code, c.args...)
	}
	// Without journal_number.txt anywhere near, encrypt says what to fetch.
	os.Remove(filepath.Join(dir, "journal_number.txt"))
	wantFail(t, dir, 3, verify.CodeJournalFileMissing, "encrypt", "-r", "authority.pub", "--name", "x", "cohort")

	for _, leftover := range []string{"x.zip", "x.c4gh", "x.json", "my data.c4gh"} {
		if _, err := os.Stat(filepath.Join(dir, leftover)); err == nil {
			t.Errorf("a refused command left %s behind", leftover)
		}
	}
	noPartFiles(t, dir)
}

// noPartFiles fails if a temporary file or folder is left anywhere in dir.
func noPartFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".part-") {
			t.Errorf("temporary %s left behind", p)
		}
		return nil
	})
}

func TestKeygenPassphraseRules(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "empty.txt"), "\n")
	write(t, filepath.Join(dir, "short.txt"), "abc\n")
	t.Setenv("SIIRTO_PASSPHRASE", "")
	// An empty passphrase from the environment must not write an
	// unprotected key that nobody asked for.
	wantFail(t, dir, 4, verify.CodePassphrase, "keygen", "a")
	os.Unsetenv("SIIRTO_PASSPHRASE")
	wantFail(t, dir, 4, verify.CodePassphrase, "keygen", "--passphrase-file", "empty.txt", "b")
	wantFail(t, dir, 4, verify.CodePassphrase, "keygen", "--passphrase-file", "short.txt", "c")
	for _, k := range []string{"a", "b", "c"} {
		if _, err := os.Stat(filepath.Join(dir, k+".sec")); err == nil {
			t.Errorf("a refused keygen wrote %s.sec", k)
		}
	}
	mustRun(t, dir, "keygen", "--no-passphrase", "d")
}

func TestBadEnvironmentIsUsage(t *testing.T) {
	dir := workspace(t)
	t.Setenv("SIIRTO_WORKERS", "abc")
	wantFail(t, dir, 2, verify.CodeUsage, "encrypt", "-r", "authority.pub", "cohort")
}

func TestTamperedPayload(t *testing.T) {
	dir := workspace(t)
	mustRun(t, dir, "encrypt", "-r", "authority.pub", "cohort")
	p := filepath.Join(dir, "cohort.c4gh")
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 1
	os.WriteFile(p, b, 0o600)

	wantFail(t, dir, 3, verify.CodeChecksumMismatch, "verify", "cohort.json")
	wantFail(t, dir, 3, verify.CodeTampered, "decrypt", "-k", "authority.sec", "cohort.json")
	if _, err := os.Stat(filepath.Join(dir, "cohort.zip")); err == nil {
		t.Fatal("decrypt left a plaintext zip after refusing")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".part-") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
	os.WriteFile(p, b[:len(b)-100], 0o600)
	wantFail(t, dir, 3, verify.CodeTruncated, "verify", "cohort.json")
}

func TestSenderKeyAndPassphrase(t *testing.T) {
	dir := workspace(t)
	t.Setenv("SIIRTO_PASSPHRASE", "a long enough passphrase")
	mustRun(t, dir, "keygen", "controller")
	data, _ := os.ReadFile(filepath.Join(dir, "controller.sec"))
	if !bytes.Contains(data, []byte("ENCRYPTED")) {
		t.Fatal("keygen did not protect the secret key")
	}
	if st, _ := os.Stat(filepath.Join(dir, "controller.sec")); st.Mode().Perm() != 0o600 {
		t.Fatalf("secret key mode %v, want 0600", st.Mode().Perm())
	}
	mustRun(t, dir, "encrypt", "-r", "authority.pub", "--sender-key", "controller.sec", "cohort")
	mustRun(t, dir, "verify", "--sender", "controller.pub", "cohort.json")

	write(t, filepath.Join(dir, "pass.txt"), "wrong passphrase\n")
	os.Unsetenv("SIIRTO_PASSPHRASE")
	wantFail(t, dir, 4, verify.CodePassphrase, "encrypt", "-r", "authority.pub", "--sender-key", "controller.sec", "--passphrase-file", "pass.txt", "--name", "again", "cohort")
	// No terminal and no passphrase: a clear refusal instead of a hang.
	wantFail(t, dir, 4, verify.CodePassphrase, "encrypt", "-r", "authority.pub", "--sender-key", "controller.sec", "--name", "again", "cohort")
}

func TestLanguages(t *testing.T) {
	dir := workspace(t)
	for lang, want := range map[string]string{"fi": "Diaarinumero", "sv": "Diarienummer", "en": "Journal number"} {
		_, _, errOut := siirto(t, dir, "--lang", lang, "encrypt", "-r", "authority.pub", "--name", "b"+lang, "cohort")
		if !strings.Contains(errOut, want) {
			t.Errorf("--lang %s: %q not in %q", lang, want, errOut)
		}
	}
	_, out, _ := siirto(t, dir, "--lang", "fi", "verify", "nothing.json")
	if !strings.Contains(out, "VIRHE") || !strings.Contains(out, "Lähetä .json-tiedosto") {
		t.Errorf("Finnish advice missing: %s", out)
	}
}

func TestMessagesComplete(t *testing.T) {
	for key, m := range messages {
		if m.EN == "" || m.FI == "" || m.SV == "" {
			t.Errorf("message %q lacks a language", key)
		}
		if n := strings.Count(m.EN, "%"); strings.Count(m.FI, "%") != n || strings.Count(m.SV, "%") != n {
			t.Errorf("message %q has different verbs across languages", key)
		}
	}
}

func TestPickLang(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "fi_FI.UTF-8")
	if got := pickLang(""); got != "fi" {
		t.Errorf("LANG=fi_FI: got %s", got)
	}
	if got := pickLang("sv"); got != "sv" {
		t.Errorf("--lang sv: got %s", got)
	}
	t.Setenv("LANG", "C.UTF-8")
	if got := pickLang(""); got != "en" {
		t.Errorf("LANG=C: got %s", got)
	}
}

// journalFolder makes a journal folder as the authority opens it.
func journalFolder(t *testing.T, parent, journal string) string {
	t.Helper()
	folder, err := verify.FolderName(journal)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(parent, folder)
	write(t, filepath.Join(p, verify.JournalFile), journal+"\n")
	return p
}

func TestUploadToFolder(t *testing.T) {
	dir := workspace(t)
	mustRun(t, dir, "encrypt", "-r", "authority.pub", "cohort")
	remote := t.TempDir()
	folder := journalFolder(t, remote, "THL/1234/14.02.00/2023")
	to := "file://" + filepath.ToSlash(folder) + "/"

	out := mustRun(t, dir, "--json", "upload", "--to", to, "cohort.json")
	if !strings.Contains(out, `"already_there": false`) {
		t.Fatalf("upload: %s", out)
	}
	for _, f := range []string{"cohort.c4gh", "cohort.json"} {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, err := os.ReadFile(filepath.Join(folder, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s differs on the server: %v", f, err)
		}
	}
	// The uploaded folder passes the gateway's checks, folder name included.
	mustRun(t, dir, "verify", "--journal-folder", "--key", "authority.sec", folder)
	// Again: nothing is sent twice.
	if out := mustRun(t, dir, "--json", "upload", "--to", to, "cohort"); !strings.Contains(out, `"already_there": true`) {
		t.Fatalf("second upload: %s", out)
	}
	noPartFiles(t, folder)

	// A different bundle under the same name is refused.
	mustRun(t, dir, "encrypt", "--force", "-r", "authority.pub", "cohort")
	wantFail(t, dir, 5, verify.CodeExists, "upload", "--to", to, "cohort.json")

	// Refused before a byte is sent: another journal's folder, a missing
	// folder, a folder that is not a journal folder.
	other := journalFolder(t, remote, "2022/53")
	wantFail(t, dir, 3, verify.CodeJournalMismatch, "upload", "--to", "file://"+other+"/", "cohort.json")
	if entries, _ := os.ReadDir(other); len(entries) != 1 {
		t.Fatalf("a refused upload wrote into the folder: %v", entries)
	}
	wantFail(t, dir, 6, verify.CodeFolderMissing, "upload", "--to", "file://"+remote+"/THL_9_2023/", "cohort.json")
	os.MkdirAll(filepath.Join(remote, "plain"), 0o755)
	wantFail(t, dir, 6, verify.CodeFolderMissing, "upload", "--to", "file://"+remote+"/plain/", "cohort.json")
	renamed := filepath.Join(remote, "renamed")
	os.MkdirAll(renamed, 0o755)
	write(t, filepath.Join(renamed, verify.JournalFile), "2022/53\n")
	wantFail(t, dir, 3, verify.CodeJournalMismatch, "upload", "--to", "file://"+renamed+"/", "cohort.json")
	wantFail(t, dir, 2, verify.CodeTargetInvalid, "upload", "--to", "ftp://x/", "cohort.json")
}

func TestConfigFile(t *testing.T) {
	dir := workspace(t)
	write(t, filepath.Join(dir, "good.toml"), "recipients = [\"authority.pub\", \"other.pub\"]\nout = \"outbox\"\nlang = \"sv\"\n")
	_, _, errOut := siirto(t, dir, "--config", "good.toml", "encrypt", "cohort")
	if !strings.Contains(errOut, "Diarienummer") {
		t.Errorf("lang from the config file was not used: %s", errOut)
	}
	data, err := os.ReadFile(filepath.Join(dir, "outbox", "cohort.json"))
	if err != nil {
		t.Fatalf("out from the config file was not used: %v", err)
	}
	if strings.Count(string(data), "fingerprint") != 2 {
		t.Error("both recipients from the config file should be in the manifest")
	}
	// A flag wins over the file.
	mustRun(t, dir, "--config", "good.toml", "encrypt", "-r", "other.pub", "-o", "elsewhere", "cohort")
	data, _ = os.ReadFile(filepath.Join(dir, "elsewhere", "cohort.json"))
	if strings.Count(string(data), "fingerprint") != 1 {
		t.Error("--recipient did not replace the config file's recipients")
	}
	write(t, filepath.Join(dir, "typo.toml"), "recipient = [\"authority.pub\"]\n")
	wantFail(t, dir, 2, verify.CodeUsage, "--config", "typo.toml", "encrypt", "cohort")
	wantFail(t, dir, 2, verify.CodeUsage, "--config", "missing.toml", "encrypt", "cohort")
}
