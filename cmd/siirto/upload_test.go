package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
