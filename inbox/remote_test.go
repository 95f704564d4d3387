package inbox_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/inbox"
	"github.com/siirto/siirto/internal/testserver"
	"github.com/siirto/siirto/verify"
)

// uploadCorpus uploads a corpus case's journal folder to a store the way
// siirto upload does: journal_number.txt, then the payload, the manifest last.
func uploadCorpus(t *testing.T, store clients.Store, kind, name string) caseInfo {
	t.Helper()
	dir := filepath.Join(corpus, "bundles", kind, name)
	c := loadCase(t, dir)
	ctx := context.Background()
	if err := store.Mkdir(ctx, c.folder); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{verify.JournalFile, c.bundle + ".c4gh", c.bundle + ".json"} {
		data, err := os.ReadFile(filepath.Join(dir, c.folder, f))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Put(ctx, c.folder+"/"+f, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// remoteRun takes one good and one tampered bundle through a pipeline
// whose inbox is store: the good one is staged and receipted in the
// store, the tampered one rejected with its receipt, its files moved out.
func remoteRun(t *testing.T, store clients.Store) {
	h := newHarness(t)
	h.cfg.Store = store
	h.cfg.Inbox = ""
	good := uploadCorpus(t, store, "good", "ready-zip") // in 2022_53; the bad one is in THL_…
	uploadCorpus(t, store, "bad", "tampered-segment")
	h.journal[good.folder] = inbox.Journal{Channels: []string{"webhook"}}
	if err := h.pipeline(t).Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := h.ledger.List(context.Background(), "")
	if err != nil || len(recs) != 2 {
		t.Fatalf("ledger %+v %v", recs, err)
	}
	ctx := context.Background()
	receipt := func(folder, name string) *verify.Receipt {
		r, err := store.Open(ctx, folder+"/"+verify.ReceiptName(name))
		if err != nil {
			t.Fatalf("no receipt for %s in the store: %v", name, err)
		}
		defer r.Close()
		data, _ := io.ReadAll(r)
		rc, err := verify.ParseReceipt(data, h.pub)
		if err != nil {
			t.Fatal(err)
		}
		return rc
	}
	for _, r := range recs {
		if r.State != inbox.StateReceipted {
			t.Fatalf("%s: %s %s %s", r.Name, r.State, r.Code, r.Detail)
		}
		switch r.Name {
		case good.bundle:
			checkStaged(t, h, r)
			if rc := receipt(r.Folder, r.Name); rc.Status != verify.ReceiptAccepted {
				t.Fatalf("%+v", rc)
			}
			if _, err := store.Stat(ctx, r.Folder+"/"+r.Name+".c4gh"); err == nil {
				t.Error("the accepted payload is still in the store")
			}
		default:
			if rc := receipt(r.Folder, r.Name); rc.Status != verify.ReceiptRejected || rc.Code != verify.CodeTampered {
				t.Fatalf("%+v", rc)
			}
			if _, err := store.Stat(ctx, r.Folder+"/"+r.Name+".json"); err == nil {
				t.Error("the rejected manifest is still in the store")
			}
			if _, err := os.Stat(filepath.Join(h.cfg.Rejected, r.Folder, r.ID, r.Name+".c4gh")); err != nil {
				t.Errorf("the rejected payload was not kept: %v", err)
			}
		}
	}
	// Nothing of the plaintext is left outside the staged folder.
	if work := workLeft(t, h); len(work) != 0 {
		t.Fatalf("work files left: %q", work)
	}
	if len(h.rec.sent) != 1 || !strings.HasPrefix(h.rec.sent[0], "webhook ") {
		t.Fatalf("deliveries %q", h.rec.sent)
	}
}

// TestWebDAVInbox: the inbox is a folder on Apache mod_dav, standing in
// for Nextcloud.
func TestWebDAVInbox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Apache")
	}
	dav := testserver.Apache(t)
	store, err := clients.OpenWith(context.Background(), dav.URL, clients.OpenOptions{Credentials: clients.Credentials{User: dav.User, Password: dav.Password}})
	if err != nil {
		t.Fatal(err)
	}
	remoteRun(t, store)
}

// TestS3Inbox: the inbox is a prefix in an S3 bucket (versitygw).
func TestS3Inbox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts versitygw")
	}
	store, _ := s3Store(t, "inbox/")
	remoteRun(t, store)
}

// s3Store starts versitygw and opens prefix in its bucket, with the AWS
// keys from the environment as the gateway takes them, and no AWS
// configuration of the user's in the way. It returns the store's URL.
func s3Store(t *testing.T, prefix string) (clients.Store, string) {
	t.Helper()
	srv := testserver.S3(t)
	none := filepath.Join(t.TempDir(), "no-aws-config")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey, "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	url := "s3://" + srv.Bucket + "/" + prefix
	store, err := clients.OpenWith(context.Background(), url, clients.OpenOptions{S3: clients.S3Options{Endpoint: srv.Endpoint, Region: srv.Region}})
	if err != nil {
		t.Fatal(err)
	}
	return store, url
}
