package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/internal/testserver"
)

// s3InboxEnv points a gateway at an S3 inbox under inbox/ in srv's bucket.
func s3InboxEnv(srv *testserver.S3Server) []string {
	return []string{"SIIRTO_GATEWAY_INBOX_URL=s3://" + srv.Bucket + "/inbox/", "SIIRTO_GATEWAY_INBOX_ENDPOINT=" + srv.Endpoint,
		"SIIRTO_GATEWAY_INBOX_REGION=" + srv.Region}
}

// s3Folder opens the journal folder of the S3 inbox as a controller's
// siirto upload would.
func s3Folder(t testing.TB, srv *testserver.S3Server) clients.Store {
	t.Helper()
	store, err := clients.OpenWith(context.Background(), "s3://"+srv.Bucket+"/inbox/"+folder+"/",
		clients.OpenOptions{S3: clients.S3Options{Endpoint: srv.Endpoint, Region: srv.Region}})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// makeBundles writes n bundles PREFIXnnn, each a zip of about size bytes
// of register rows, encrypted to g's key as a controller's siirto
// encrypt writes them, into a new folder; it returns the folder and the
// bundles' names.
func makeBundles(t testing.TB, g *gw, prefix string, n, size int) (string, []string) {
	t.Helper()
	src := t.TempDir()
	zipPath := filepath.Join(src, "in.zip")
	zf, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(zf)
	w, _ := zw.Create("rows.csv")
	row := []byte("1;1970;C50\n")
	w.Write(bytes.Repeat(row, max(1, size/len(row))))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zf.Close()
	pk := g.publicKey()
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("%s%03d", prefix, i)
		if _, err := encrypt.WriteBundle(context.Background(), encrypt.BundleOptions{Name: names[i], JournalNumber: journal,
			Zip: zipPath, Recipients: []encrypt.PublicKey{pk}, OutDir: src, Tool: encrypt.Tool{Name: "siirto-test", Version: "1"}}); err != nil {
			t.Fatal(err)
		}
	}
	return src, names
}

// publicKey reads the gateway's Crypt4GH public key.
func (g *gw) publicKey() encrypt.PublicKey {
	g.t.Helper()
	pk, err := encrypt.ReadPublicKeyFile(filepath.Join(g.dir, "keys", "gateway.pub"))
	if err != nil {
		g.t.Fatal(err)
	}
	return pk
}

// uploadBundles puts each bundle's payload and then its manifest into
// store, parallel bundles at a time, every gap apart (0: back to back). It
// returns when each manifest landed, by bundle id (the manifest's SHA-256).
func uploadBundles(t testing.TB, store clients.Store, src string, names []string, parallel int, gap time.Duration) map[string]time.Time {
	t.Helper()
	ctx := context.Background()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	landed := map[string]time.Time{}
	sem := make(chan struct{}, parallel)
	for _, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var sum [32]byte
			for _, f := range []string{name + ".c4gh", name + ".json"} {
				data, err := os.ReadFile(filepath.Join(src, f))
				if err == nil {
					err = store.Put(ctx, f, bytes.NewReader(data), int64(len(data)))
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				sum = sha256.Sum256(data)
			}
			mu.Lock()
			landed[hex.EncodeToString(sum[:])] = time.Now()
			mu.Unlock()
		}()
		time.Sleep(gap)
	}
	wg.Wait()
	for _, err := range errs {
		t.Fatal(err)
	}
	return landed
}

// eventRelay receives an S3 server's event notifications and passes them
// on, unchanged, to a gateway that starts later: the S3 server must start
// first (journal add writes into the bucket), and versitygw posts a test
// event at start and will not start if nothing answers it. Until a
// gateway is set, events are dropped, as a gateway that is down misses
// them.
type eventRelay struct {
	*httptest.Server
	to atomic.Pointer[string]
}

func newEventRelay(t testing.TB) *eventRelay {
	r := &eventRelay{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		to := r.to.Load()
		if to == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		body, _ := io.ReadAll(req.Body)
		out, err := http.NewRequest(http.MethodPost, *to, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = req.Header.Clone()
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	t.Cleanup(r.Close)
	return r
}

// forward starts passing events to g's events endpoint.
func (r *eventRelay) forward(g *gw) {
	to := g.url + "/events/s3"
	r.to.Store(&to)
}

// eventsCounted reads how many S3 events of source g has taken, from its
// metrics.
func (g *gw) eventsCounted(source string) int {
	g.t.Helper()
	_, body := get(g.t, g.url+"/metrics", "")
	m := regexp.MustCompile(`siirto_inbox_events_total\{source="` + source + `"\} (\d+)`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestS3InboxEvents: bundles uploaded to an S3 inbox are all processed
// with event notifications off (listing every 300 ms), and on with the
// listing all but switched off (once an hour), so that only the events
// can have found them: versitygw's webhook; and MinIO's webhook with the
// minio-go listener running beside it (MinIO's listen API delivers
// nothing in current builds, which the listing must survive).
func TestS3InboxEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("versitygw and MinIO")
	}
	const n = 12
	for _, tc := range []struct {
		name   string
		server func(testing.TB, testserver.S3Options) *testserver.S3Server
		events string
	}{
		{"off", testserver.S3With, ""},
		{"versitygw-webhook", testserver.S3With, "webhook"},
		{"minio-webhook-and-listen", testserver.MinIOWith, "webhook,minio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			relay := newEventRelay(t)
			var o testserver.S3Options
			env := []string{"SIIRTO_GATEWAY_POLL=300ms"}
			if tc.events != "" {
				o.EventWebhook = relay.URL
				env = []string{"SIIRTO_GATEWAY_POLL=1h", "SIIRTO_GATEWAY_INBOX_EVENTS=" + tc.events}
			}
			srv := tc.server(t, o)
			s3Env(t, srv)
			g := newGateway(t, append(s3InboxEnv(srv), env...)...)
			src, names := makeBundles(t, g, "ev", n, 64<<10)
			g.start()
			relay.forward(g)
			uploadBundles(t, s3Folder(t, srv), src, names, 4, 0)
			g.waitState("receipted", n, time.Minute)
			if hooks, _ := g.hook.deliveries(); len(hooks) != n {
				t.Fatalf("%d webhook notifications for %d bundles", len(hooks), n)
			}
			if tc.events != "" {
				if got := g.eventsCounted("webhook"); got < n {
					t.Fatalf("the gateway counted %d webhook events for %d manifests", got, n)
				}
			}
			g.stop()
		})
	}
}

// TestS3Staging: with staging.url on S3, a bundle from the S3 inbox is
// staged there as a siirto bundle encrypted to the handlers' key, the
// local plaintext is gone, and the handlers' key decrypts it to exactly
// the files sent.
func TestS3Staging(t *testing.T) {
	if testing.Short() {
		t.Skip("versitygw")
	}
	srv := testserver.S3(t)
	s3Env(t, srv)
	keys := t.TempDir()
	if out, err := siirto(t, "--quiet", "keygen", "--no-passphrase", filepath.Join(keys, "handlers")); err != nil {
		t.Fatalf("keygen: %v %s", err, out)
	}
	g := newGateway(t, append(s3InboxEnv(srv), "SIIRTO_GATEWAY_POLL=200ms",
		"SIIRTO_GATEWAY_STAGING_URL=s3://"+srv.Bucket+"/staging/", "SIIRTO_GATEWAY_STAGING_ENDPOINT="+srv.Endpoint,
		"SIIRTO_GATEWAY_STAGING_RECIPIENTS="+filepath.Join(keys, "handlers.pub"))...)
	src, names := makeBundles(t, g, "staged", 2, 200<<10)
	g.start()
	uploadBundles(t, s3Folder(t, srv), src, names, 2, 0)
	bs := g.waitState("receipted", 2, time.Minute)
	g.stop()
	if entries, _ := os.ReadDir(filepath.Join(g.dir, "staging", folder)); len(entries) != 0 {
		t.Fatalf("plaintext left in local staging: %v", entries)
	}
	staging, err := clients.OpenWith(context.Background(), "s3://"+srv.Bucket+"/staging/",
		clients.OpenOptions{S3: clients.S3Options{Endpoint: srv.Endpoint, Region: srv.Region}})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		base := folder + "/" + b.ID + "/" + b.Name
		if b.Staging != "s3://"+srv.Bucket+"/staging/"+base+".json" {
			t.Fatalf("ledger staging %q", b.Staging)
		}
		dl := t.TempDir()
		for _, f := range []string{base + ".c4gh", base + ".json"} {
			r, err := staging.Open(context.Background(), f)
			if err != nil {
				t.Fatalf("staging store: %v", err)
			}
			data, _ := io.ReadAll(r)
			r.Close()
			if bytes.Contains(data, []byte("1;1970;C50")) {
				t.Fatalf("%s holds plaintext", f)
			}
			os.WriteFile(filepath.Join(dl, filepath.Base(f)), data, 0o600)
		}
		out := filepath.Join(dl, "out")
		if o, err := siirto(t, "--quiet", "decrypt", "--key", filepath.Join(keys, "handlers.sec"), "--extract", out, filepath.Join(dl, b.Name+".json")); err != nil {
			t.Fatalf("the handlers' key does not open the staged bundle: %v %s", err, o)
		}
		got, err := os.ReadFile(filepath.Join(out, "rows.csv"))
		if row := []byte("1;1970;C50\n"); err != nil || !bytes.Equal(got, bytes.Repeat(row, (200<<10)/len(row))) {
			t.Fatalf("the staged rows.csv (%d bytes, %v) is not what was sent", len(got), err)
		}
	}
}

// TestWebDAVInboxWithSiirtoUpload: the gateway watches a folder on Apache
// mod_dav (standing in for Nextcloud); a bundle sent there by the real
// `siirto upload` is detected, staged and receipted, and `siirto status`
// shows the receipt.
func TestWebDAVInboxWithSiirtoUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("Apache")
	}
	dav := testserver.Apache(t)
	pass := filepath.Join(t.TempDir(), "dav.pass")
	if err := os.WriteFile(pass, []byte(dav.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, "SIIRTO_GATEWAY_POLL=200ms", "SIIRTO_GATEWAY_INBOX_URL="+dav.URL,
		"SIIRTO_GATEWAY_INBOX_USER="+dav.User, "SIIRTO_GATEWAY_INBOX_PASSWORD_FILE="+pass)
	if _, err := os.Stat(filepath.Join(dav.Root, folder, "journal_number.txt")); err != nil {
		t.Fatalf("journal add did not publish the journal folder on the WebDAV inbox: %v", err)
	}
	src, names := makeBundles(t, g, "dav", 1, 100<<10)
	g.start()
	to := dav.URL + folder + "/"
	if o, err := siirto(t, "--quiet", "upload", "--to", to, "--user", dav.User, "--password-file", pass, filepath.Join(src, names[0]+".json")); err != nil {
		t.Fatalf("siirto upload: %v %s", err, o)
	}
	bs := g.waitState("receipted", 1, time.Minute)
	if entries, _ := os.ReadDir(filepath.Join(g.dir, "staging", folder, bs[0].ID)); len(entries) != 1 || entries[0].Name() != "rows.csv" {
		t.Fatalf("staged: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(dav.Root, folder, names[0]+".receipt.json")); err != nil {
		t.Fatalf("no receipt written back to the WebDAV inbox: %v", err)
	}
	o, err := siirto(t, "status", "--to", to, "--user", dav.User, "--password-file", pass, "--receipt-key", filepath.Join(g.dir, "keys", "receipt-key.pub"), filepath.Join(src, names[0]+".json"))
	if err != nil {
		t.Fatalf("siirto status: %v %s", err, o)
	}
	g.stop()
}
