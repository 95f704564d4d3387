package main

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/internal/testserver"
	"github.com/siirto/siirto/verify"
)

// TestSend streams a multi-segment folder to each kind of store and checks
// the result with the authority's key; nothing is written locally.
func TestSend(t *testing.T) {
	dir := workspace(t)
	big := make([]byte, 7<<20+12345) // over one Nextcloud chunk and many segments
	rand.NewChaCha8([32]byte{3}).Read(big)
	write(t, filepath.Join(dir, "cohort", "scan.bin"), string(big))
	before, _ := os.ReadDir(dir)
	journal := "THL/1234/14.02.00/2023"
	folder, _ := verify.FolderName(journal)
	ctx := context.Background()

	// A local folder.
	remote := t.TempDir()
	local := journalFolder(t, remote, journal)
	mustRun(t, dir, "send", "--to", "file://"+local+"/", "-r", "authority.pub", "cohort")
	mustRun(t, dir, "verify", "--journal-folder", "--key", "authority.sec", local)

	// Nextcloud: chunks of 5 MiB announced one by one.
	nc := testserver.NextcloudServer(t)
	write(t, filepath.Join(nc.Root, folder, verify.JournalFile), journal+"\n")
	t.Setenv("SIIRTO_PASSWORD", nc.Password)
	mustRun(t, dir, "send", "--user", nc.User, "--chunk-size", "5", "--to", nc.URL+folder+"/", "-r", "authority.pub", "cohort")
	mustRun(t, dir, "verify", "--journal-folder", "--key", "authority.sec", filepath.Join(nc.Root, folder))
	if nc.ChunksSent() < 2 {
		t.Errorf("sent %d chunks, want several", nc.ChunksSent())
	}

	// Apache: one PUT with chunked transfer encoding.
	d := testserver.Apache(t)
	admin := clients.NewWebDAV(d.URL, clients.Credentials{User: d.User, Password: d.Password})
	if err := admin.Mkdir(ctx, folder); err != nil {
		t.Fatal(err)
	}
	if err := admin.Put(ctx, folder+"/"+verify.JournalFile, strings.NewReader(journal), int64(len(journal))); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIIRTO_PASSWORD", d.Password)
	mustRun(t, dir, "send", "--user", d.User, "--to", d.URL+folder+"/", "-r", "authority.pub", "cohort")
	mustRun(t, dir, "verify", "--journal-folder", "--key", "authority.sec", filepath.Join(d.Root, folder))

	// S3 on versitygw: a multipart upload of unknown length.
	srv := testserver.S3(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	s3, err := clients.NewS3(ctx, srv.Bucket, "", clients.S3Options{Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if err := s3.Put(ctx, folder+"/"+verify.JournalFile, strings.NewReader(journal), int64(len(journal))); err != nil {
		t.Fatal(err)
	}
	to := "s3://" + srv.Bucket + "/" + folder + "/"
	mustRun(t, dir, "send", "--endpoint", srv.Endpoint, "--part-size", "5", "--to", to, "-r", "authority.pub", "cohort")
	got := filepath.Join(t.TempDir(), folder)
	os.MkdirAll(got, 0o755)
	for _, f := range []string{verify.JournalFile, "cohort.c4gh", "cohort.json"} {
		r, err := s3.Open(ctx, folder+"/"+f)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := os.Create(filepath.Join(got, f))
		out.ReadFrom(r)
		out.Close()
		r.Close()
	}
	mustRun(t, dir, "verify", "--journal-folder", "--key", "authority.sec", got)

	// Refusals, before anything is sent.
	wantFail(t, dir, 5, verify.CodeExists, "send", "--endpoint", srv.Endpoint, "--to", to, "-r", "authority.pub", "cohort")
	other := journalFolder(t, remote, "2022/53")
	wantFail(t, dir, 3, verify.CodeJournalMismatch, "send", "--journal", "journal_number.txt", "--to", "file://"+other+"/", "-r", "authority.pub", "cohort")

	// No zip or payload was ever written beside the inputs.
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Fatalf("send wrote local files: %d entries before, %d after", len(before), len(after))
	}
}

// TestSendServerAnswersEarly: a server that answers the PUT before reading
// the body must make send fail, not hang with Seal blocked on its pipe.
func TestSendServerAnswersEarly(t *testing.T) {
	dir := workspace(t)
	// Far more than socket buffers hold, so Seal is still writing when the
	// server answers.
	big := make([]byte, 64<<20)
	rand.NewChaCha8([32]byte{5}).Read(big)
	write(t, filepath.Join(dir, "cohort", "big.bin"), string(big))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+verify.JournalFile):
			io.WriteString(w, "THL/1234/14.02.00/2023\n")
		case r.Method == http.MethodPut || r.Method == "MOVE":
			w.WriteHeader(http.StatusCreated) // without reading the body
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("SIIRTO_PASSWORD", "x")
	done := make(chan int, 1)
	go func() {
		code, _, _ := siirto(t, dir, "send", "--user", "u", "--to", srv.URL+"/dav/THL_1234_14.02.00_2023/", "-r", "authority.pub", "cohort")
		done <- code
	}()
	select {
	case code := <-done:
		if code == 0 {
			t.Fatal("a send the server cut short was reported as a success")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("send hung after the server answered early")
	}
}
