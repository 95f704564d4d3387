package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/internal/testserver"
	"github.com/siirto/siirto/verify"
)

// TestUploadWebDAV uploads with the CLI to Apache mod_dav at a
// Nextcloud-shaped path, as an applicant would.
func TestUploadWebDAV(t *testing.T) {
	d := testserver.Apache(t)
	dir := workspace(t)
	mustRun(t, dir, "encrypt", "-r", "authority.pub", "cohort")

	// The authority opens the journal folder.
	admin := clients.NewWebDAV(d.URL, clients.Credentials{User: d.User, Password: d.Password})
	ctx := context.Background()
	journal := "THL/1234/14.02.00/2023"
	folder, _ := verify.FolderName(journal)
	if err := admin.Mkdir(ctx, folder); err != nil {
		t.Fatal(err)
	}
	if err := admin.Put(ctx, folder+"/"+verify.JournalFile, strings.NewReader(journal+"\n"), int64(len(journal)+1)); err != nil {
		t.Fatal(err)
	}
	to := d.URL + folder + "/"

	write(t, filepath.Join(dir, "pass.txt"), d.Password+"\n")
	mustRun(t, dir, "upload", "--user", d.User, "--password-file", "pass.txt", "--to", to, "cohort.json")
	for _, f := range []string{"cohort.c4gh", "cohort.json"} {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, err := os.ReadFile(filepath.Join(d.Root, folder, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s differs on the server: %v", f, err)
		}
	}
	noPartFiles(t, filepath.Join(d.Root, folder))

	// A named target from the config file, the user in it and the
	// password from the environment.
	write(t, filepath.Join(dir, "siirto.toml"), "[targets.findata]\nurl = \""+to+"\"\nuser = \""+d.User+"\"\n")
	t.Setenv("SIIRTO_PASSWORD", d.Password)
	if out := mustRun(t, dir, "--json", "--config", "siirto.toml", "upload", "--to", "findata", "cohort"); !strings.Contains(out, `"already_there": true`) {
		t.Fatalf("upload to a named target: %s", out)
	}

	t.Setenv("SIIRTO_PASSWORD", "wrong")
	wantFail(t, dir, 6, verify.CodeAuth, "upload", "--user", d.User, "--to", to, "cohort.json")
	t.Setenv("SIIRTO_PASSWORD", d.Password)
	wantFail(t, dir, 6, verify.CodeFolderMissing, "upload", "--user", d.User, "--to", d.URL+"2022_53/", "cohort.json")
	wantFail(t, dir, 2, verify.CodeTargetInvalid, "--config", "siirto.toml", "upload", "--to", "nosuch", "cohort.json")
}

// TestUploadTargetBeforePassword: plain http to another machine is refused
// as an invalid target before any password is looked for, so the user
// hears what is wrong with the target, not that a password is missing.
func TestUploadTargetBeforePassword(t *testing.T) {
	dir := workspace(t)
	mustRun(t, dir, "encrypt", "-r", "authority.pub", "cohort")
	for _, v := range []string{"SIIRTO_PASSWORD", "SIIRTO_PASSWORD_FILE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	wantFail(t, dir, 2, verify.CodeTargetInvalid, "upload", "--user", "alice", "--to", "http://example.com/x/", "cohort.json")
}

// TestUploadS3 uploads to a journal folder in an S3 bucket on versitygw, a
// real S3 server, with the keys from the AWS variables.
func TestUploadS3(t *testing.T) {
	srv := testserver.S3(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	dir := workspace(t)
	mustRun(t, dir, "encrypt", "-r", "authority.pub", "cohort")

	ctx := context.Background()
	admin, err := clients.NewS3(ctx, srv.Bucket, "inbox/", clients.S3Options{Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Put(ctx, "2022_53/"+verify.JournalFile, strings.NewReader("2022/53\n"), 8); err != nil {
		t.Fatal(err)
	}
	// The bundle is for THL/1234/14.02.00/2023: refused before a byte goes.
	to := "s3://" + srv.Bucket + "/inbox/2022_53/"
	wantFail(t, dir, 3, verify.CodeJournalMismatch, "upload", "--endpoint", srv.Endpoint, "--to", to, "cohort.json")
	if _, err := admin.Stat(ctx, "2022_53/cohort.c4gh"); err == nil {
		t.Fatal("a refused upload reached the bucket")
	}

	if err := admin.Put(ctx, "THL_1234_14.02.00_2023/"+verify.JournalFile, strings.NewReader("THL/1234/14.02.00/2023\n"), 23); err != nil {
		t.Fatal(err)
	}
	to = "s3://" + srv.Bucket + "/inbox/THL_1234_14.02.00_2023/"
	mustRun(t, dir, "upload", "--endpoint", srv.Endpoint, "--to", to, "cohort.json")
	r, err := admin.Open(ctx, "THL_1234_14.02.00_2023/cohort.c4gh")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	want, _ := os.ReadFile(filepath.Join(dir, "cohort.c4gh"))
	if !bytes.Equal(got, want) {
		t.Fatal("the payload in the bucket differs")
	}
	if out := mustRun(t, dir, "--json", "upload", "--endpoint", srv.Endpoint, "--to", to, "cohort"); !strings.Contains(out, `"already_there": true`) {
		t.Fatalf("second upload: %s", out)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	wantFail(t, dir, 6, verify.CodeAuth, "upload", "--endpoint", srv.Endpoint, "--to", to, "cohort.json")
}

// bigBundle encrypts 6 MiB of random data, stored without compression,
// into big.c4gh and big.json in dir: a payload over one 5 MiB chunk.
func bigBundle(t *testing.T, dir string) []byte {
	t.Helper()
	data := make([]byte, 6<<20)
	rand.NewChaCha8([32]byte{'s', 'i', 'i', 'r', 't', 'o'}).Read(data)
	if err := os.WriteFile(filepath.Join(dir, "extract.bin"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "encrypt", "-r", "authority.pub", "--store", "-n", "big", "extract.bin")
	payload, err := os.ReadFile(filepath.Join(dir, "big.c4gh"))
	if err != nil {
		t.Fatal(err)
	}
	if len(payload) <= 5<<20 {
		t.Fatalf("the payload is %d bytes, want over one 5 MiB chunk", len(payload))
	}
	return payload
}

// openJournalFolder makes the journal folder on a WebDAV server as the
// authority does, and returns its URL under base.
func openJournalFolder(t *testing.T, d *testserver.DAV, base string) (folder, to string) {
	t.Helper()
	admin := clients.NewWebDAV(d.URL, clients.Credentials{User: d.User, Password: d.Password})
	ctx := context.Background()
	journal := "THL/1234/14.02.00/2023"
	folder, _ = verify.FolderName(journal)
	if err := admin.Mkdir(ctx, folder); err != nil {
		t.Fatal(err)
	}
	if err := admin.Put(ctx, folder+"/"+verify.JournalFile, strings.NewReader(journal+"\n"), int64(len(journal)+1)); err != nil {
		t.Fatal(err)
	}
	return folder, base + folder + "/"
}

// TestUploadWebDAVRclone uploads with the CLI to rclone's WebDAV server,
// a second implementation, at a Nextcloud-shaped path. It has no chunked
// upload endpoint, so a payload over one chunk must go up in a plain PUT.
func TestUploadWebDAVRclone(t *testing.T) {
	d := testserver.Rclone(t)
	dir := workspace(t)
	payload := bigBundle(t, dir)
	folder, to := openJournalFolder(t, d, d.URL)

	write(t, filepath.Join(dir, "pass.txt"), d.Password+"\n")
	mustRun(t, dir, "upload", "--user", d.User, "--password-file", "pass.txt", "--chunk-size", "5", "--to", to, "big.json")
	got, err := os.ReadFile(filepath.Join(d.Root, folder, "big.c4gh"))
	if err != nil || sha256.Sum256(got) != sha256.Sum256(payload) {
		t.Fatalf("the payload differs on the server: %v", err)
	}
	manifest, _ := os.ReadFile(filepath.Join(dir, "big.json"))
	if got, err := os.ReadFile(filepath.Join(d.Root, folder, "big.json")); err != nil || !bytes.Equal(got, manifest) {
		t.Fatalf("the manifest differs on the server: %v", err)
	}
	noPartFiles(t, d.Root)
	if entries, _ := os.ReadDir(d.Root); len(entries) != 1 {
		t.Fatalf("rclone's root holds %d entries, want only the journal folder", len(entries))
	}

	t.Setenv("SIIRTO_PASSWORD", d.Password)
	if out := mustRun(t, dir, "--json", "upload", "--user", d.User, "--chunk-size", "5", "--to", to, "big"); !strings.Contains(out, `"already_there": true`) {
		t.Fatalf("second upload: %s", out)
	}
	t.Setenv("SIIRTO_PASSWORD", "wrong")
	wantFail(t, dir, 6, verify.CodeAuth, "upload", "--user", d.User, "--to", to, "big.json")
	t.Setenv("SIIRTO_PASSWORD", d.Password)
	wantFail(t, dir, 6, verify.CodeFolderMissing, "upload", "--user", d.User, "--to", d.URL+"2022_53/", "big.json")
}

// TestUploadCutAndRetried cuts the connection to Apache halfway through
// the payload: the upload command retries after a second and succeeds,
// and what arrives is what was sent.
func TestUploadCutAndRetried(t *testing.T) {
	d := testserver.Apache(t)
	dir := workspace(t)
	payload := bigBundle(t, dir)
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := testserver.CutProxy(t, u.Host)
	u.Host = p.Addr
	folder, to := openJournalFolder(t, d, u.String())

	write(t, filepath.Join(dir, "pass.txt"), d.Password+"\n")
	p.CutAfter(int64(len(payload) / 2))
	start := time.Now()
	mustRun(t, dir, "upload", "--user", d.User, "--password-file", "pass.txt", "--retries", "2", "--to", to, "big.json")
	if p.Cuts() != 1 {
		t.Fatalf("the proxy cut %d connections, want 1", p.Cuts())
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("the upload took %v: it cannot have waited a second before retrying", took)
	}
	got, err := os.ReadFile(filepath.Join(d.Root, folder, "big.c4gh"))
	if err != nil || sha256.Sum256(got) != sha256.Sum256(payload) {
		t.Fatalf("the payload differs on the server: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.Root, folder, "big.json")); err != nil {
		t.Fatalf("the manifest is missing: %v", err)
	}
	noPartFiles(t, d.Root)
}

// TestUploadChangedPayload: a payload changed after encryption never
// appears in the journal folder, whether the store finds out at the last
// byte (a local folder) or before the first (WebDAV checks resumable
// uploads up front).
func TestUploadChangedPayload(t *testing.T) {
	dir := workspace(t)
	mustRun(t, dir, "encrypt", "-r", "authority.pub", "cohort")
	p := filepath.Join(dir, "cohort.c4gh")
	b, _ := os.ReadFile(p)
	b[len(b)-10] ^= 1 // past the header, so only the checksum can tell
	os.WriteFile(p, b, 0o600)

	folder := journalFolder(t, t.TempDir(), "THL/1234/14.02.00/2023")
	wantFail(t, dir, 3, verify.CodeChecksumMismatch, "upload", "--to", "file://"+folder+"/", "cohort.json")
	if entries, _ := os.ReadDir(folder); len(entries) != 1 {
		t.Fatalf("a changed payload left %v in the folder", entries)
	}

	d := testserver.Apache(t)
	admin := clients.NewWebDAV(d.URL, clients.Credentials{User: d.User, Password: d.Password})
	ctx := context.Background()
	admin.Mkdir(ctx, "THL_1234_14.02.00_2023")
	admin.Put(ctx, "THL_1234_14.02.00_2023/"+verify.JournalFile, strings.NewReader("THL/1234/14.02.00/2023"), 22)
	t.Setenv("SIIRTO_PASSWORD", d.Password)
	wantFail(t, dir, 3, verify.CodeChecksumMismatch, "upload", "--user", d.User, "--to", d.URL+"THL_1234_14.02.00_2023/", "cohort.json")
	// Apache drops its own temporary file for the aborted PUT a moment
	// after the client gives up: wait for the folder to settle.
	var entries []os.DirEntry
	for i := 0; i < 100; i++ {
		if entries, _ = os.ReadDir(filepath.Join(d.Root, "THL_1234_14.02.00_2023")); len(entries) == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(entries) != 1 {
		t.Fatalf("a changed payload reached the WebDAV folder: %v", entries)
	}
}
