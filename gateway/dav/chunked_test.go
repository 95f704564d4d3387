package dav

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/internal/testserver"
)

const testChunk = 1 << 20

func randomData(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{9}).Read(b)
	return b
}

// store opens the siirto client's store for a journal folder, as
// `siirto upload` does, with small chunks. The client keeps its chunk
// logs (what lets it resume) in the user's cache folder: a temporary one.
func (e *env) store(baseURL, user, folder string) clients.Store {
	e.t.Helper()
	return e.storeChunked(baseURL, user, folder, testChunk)
}

func (e *env) storeChunked(baseURL, user, folder string, chunk int64) clients.Store {
	e.t.Helper()
	e.t.Setenv("XDG_CACHE_HOME", e.t.TempDir())
	s, err := clients.OpenWith(context.Background(), baseURL+"/remote.php/dav/files/"+user+"/"+folder+"/",
		clients.OpenOptions{Credentials: clients.Credentials{User: user, Password: "pw-" + user}, ChunkSize: chunk})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestClientUpload(t *testing.T) {
	e := newEnv(t)
	s := e.store(e.srv.URL, "alice", shared)
	ctx := context.Background()
	small := randomData(1000)
	if err := s.Put(ctx, "small.c4gh", bytes.NewReader(small), int64(len(small))); err != nil {
		t.Fatal(err)
	}
	if e.chunksStored() != 0 {
		t.Fatal("a file smaller than a chunk went in chunks")
	}
	big := randomData(3*testChunk + 12345)
	r, ok := s.(clients.Resumer)
	if !ok {
		t.Fatal("the WebDAV store cannot resume")
	}
	if err := r.PutResumable(ctx, "big.c4gh", bytes.NewReader(big), int64(len(big)), "sha256-of-big"); err != nil {
		t.Fatal(err)
	}
	if n := e.chunksStored(); n != 4 {
		t.Fatalf("%d chunks stored, want 4", n)
	}
	// A stream of unknown length goes in chunks too, its total given last.
	streamed := randomData(2*testChunk + 7)
	if err := s.Put(ctx, "streamed.c4gh", io.MultiReader(bytes.NewReader(streamed)), -1); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"small.c4gh": small, "big.c4gh": big, "streamed.c4gh": streamed} {
		if got := e.read(shared + "/" + name); got != string(want) {
			t.Fatalf("%s differs: %d bytes, want %d", name, len(got), len(want))
		}
		rc, err := s.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("reading %s back: %v", name, err)
		}
	}
	if got := e.entries(shared); !slices.Equal(got, []string{"big.c4gh", "journal_number.txt", "small.c4gh", "streamed.c4gh"}) {
		t.Fatalf("the folder holds %v", got)
	}
	if left, _ := os.ReadDir(filepath.Join(e.uploads, "alice")); len(left) != 0 {
		t.Fatalf("uploads left behind: %v", left)
	}
	wantStored := []string{"alice 2022_53/small.c4gh 1000", "alice 2022_53/big.c4gh 3158073", "alice 2022_53/streamed.c4gh 2097159"}
	if ev := e.events.snapshot(); !slices.Equal(ev.stored, wantStored) {
		t.Fatalf("Stored events %q, want %q", ev.stored, wantStored)
	}
	// The manifest makes the bundle complete; the client then cannot
	// replace the payload, in chunks or not.
	if err := s.Put(ctx, "big.json", strings.NewReader("{}"), 2); err != nil {
		t.Fatal(err)
	}
	other := randomData(2*testChunk + 1)
	err := r.PutResumable(ctx, "big.c4gh", bytes.NewReader(other), int64(len(other)), "another")
	if !errors.Is(err, clients.ErrForbidden) {
		t.Fatalf("a chunked upload onto a complete bundle: %v", err)
	}
	if err := s.Put(ctx, "big.c4gh", bytes.NewReader(small), int64(len(small))); !errors.Is(err, clients.ErrForbidden) {
		t.Fatalf("a plain upload onto a complete bundle: %v", err)
	}
	if e.read(shared+"/big.c4gh") != string(big) {
		t.Fatal("the complete bundle's payload changed")
	}
}

// TestClientUploadDirect: bodies from directReceiveMin up are received
// around the page cache, and chunks joined that way; sizes off the 4 KiB
// block make the last partial block go the other way. When all direct
// slots are taken, a large body goes through the page cache.
func TestClientUploadDirect(t *testing.T) {
	e := newEnv(t)
	const chunk = 5 << 20
	s := e.storeChunked(e.srv.URL, "alice", shared, chunk)
	ctx := context.Background()
	plain := randomData(directReceiveMin + 4097) // one PUT
	if err := s.Put(ctx, "plain.c4gh", bytes.NewReader(plain), int64(len(plain))); err != nil {
		t.Fatal(err)
	}
	chunked := randomData(2*chunk + 4097) // three chunks
	if err := s.(clients.Resumer).PutResumable(ctx, "chunked.c4gh", bytes.NewReader(chunked), int64(len(chunked)), "id"); err != nil {
		t.Fatal(err)
	}
	if n := e.chunksStored(); n != 3 {
		t.Fatalf("%d chunks stored, want 3", n)
	}
	// With every direct slot taken (uploads in progress elsewhere), a
	// large body goes through the page cache, as whole.
	for range maxDirectReceives {
		e.s.direct <- struct{}{}
	}
	busy := randomData(directReceiveMin + 1)
	if err := s.Put(ctx, "busy.c4gh", bytes.NewReader(busy), int64(len(busy))); err != nil {
		t.Fatal(err)
	}
	if len(e.s.direct) != maxDirectReceives {
		t.Fatal("a receive took or gave back a slot it did not have")
	}
	for name, want := range map[string][]byte{"plain.c4gh": plain, "chunked.c4gh": chunked, "busy.c4gh": busy} {
		if got := e.read(shared + "/" + name); got != string(want) {
			t.Fatalf("%s differs: %d bytes, want %d", name, len(got), len(want))
		}
	}
}

// TestClientResume cuts the connection in the middle of the third of six
// chunks; the rerun sends only the chunks that are missing.
func TestClientResume(t *testing.T) {
	e := newEnv(t)
	u, err := url.Parse(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testserver.CutProxy(t, u.Host)
	s := e.store("http://"+proxy.Addr, "alice", shared).(clients.Resumer)
	ctx := context.Background()
	data := randomData(5*testChunk + testChunk/2) // six chunks
	const id = "sha256-of-the-payload"

	proxy.CutAfter(2*testChunk + testChunk/2)
	err = s.PutResumable(ctx, "big.c4gh", bytes.NewReader(data), int64(len(data)), id)
	if err == nil || !clients.Temporary(err) {
		t.Fatalf("the cut upload: %v, want a temporary error", err)
	}
	if proxy.Cuts() != 1 {
		t.Fatalf("the proxy cut %d connections, want 1", proxy.Cuts())
	}
	if n := e.chunksStored(); n != 2 {
		t.Fatalf("%d chunks stored before the cut, want 2", n)
	}
	if got := e.entries(shared); !slices.Equal(got, []string{"journal_number.txt"}) {
		t.Fatalf("the cut upload left %v in the journal folder", got)
	}
	before := e.chunksStored()
	for attempt := 0; ; attempt++ {
		err := s.PutResumable(ctx, "big.c4gh", bytes.NewReader(data), int64(len(data)), id)
		if err == nil {
			break
		}
		if !clients.Temporary(err) || attempt == 5 {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resent := e.chunksStored() - before; resent != 4 {
		t.Errorf("the resumed upload sent %d chunks, want the 4 missing ones", resent)
	}
	got, err := os.ReadFile(filepath.Join(e.root, shared, "big.c4gh"))
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("the assembled file differs: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(e.uploads, "alice")); len(left) != 0 {
		t.Fatalf("uploads left behind: %v", left)
	}
}

func TestChunkedProtocol(t *testing.T) {
	e := newEnv(t)
	up := "uploads/alice/web-1"
	dest := map[string]string{"Destination": e.url("files/alice/" + shared + "/x.c4gh")}
	status, body := e.do("alice", "PUT", up+"/1", strings.NewReader("abc"), dest)
	e.want("a chunk before MKCOL", status, body, http.StatusNotFound)
	status, body = e.do("alice", "MKCOL", up, nil, nil)
	e.want("MKCOL without Destination", status, body, http.StatusBadRequest)
	for what, d := range map[string]string{
		"another user's tree": e.url("files/bob/" + shared + "/x.c4gh"),
		"a closed journal":    e.url("files/alice/" + closed + "/x.c4gh"),
		"a receipt":           e.url("files/alice/" + shared + "/x.receipt.json"),
		"the top level":       e.url("files/alice/x.c4gh"),
	} {
		status, body = e.do("alice", "MKCOL", up, nil, map[string]string{"Destination": d})
		e.want("an upload into "+what, status, body, http.StatusForbidden)
	}
	status, body = e.do("alice", "MKCOL", up, nil, map[string]string{"Destination": e.url("files/alice/" + bobOnly + "/x.c4gh")})
	e.want("an upload into an ungranted journal", status, body, http.StatusConflict)
	status, body = e.do("alice", "MKCOL", "uploads/alice/.siirto-upload", nil, dest)
	e.want("a reserved upload id", status, body, http.StatusNotFound)
	status, body = e.do("alice", "MKCOL", "uploads/alice/.hidden", nil, dest)
	e.want("a hidden upload id", status, body, http.StatusBadRequest)
	status, body = e.do("alice", "MKCOL", "uploads/alice/a%20b", nil, dest)
	e.want("an unsafe upload id", status, body, http.StatusBadRequest)

	status, body = e.do("alice", "MKCOL", up, nil, dest)
	e.want("MKCOL", status, body, http.StatusCreated)
	status, body = e.do("alice", "MKCOL", up, nil, dest)
	e.want("MKCOL again", status, body, http.StatusMethodNotAllowed)
	status, body = e.do("alice", "PUT", up+"/1", strings.NewReader("abc"), map[string]string{"Destination": e.url("files/alice/" + shared + "/y.c4gh")})
	e.want("a chunk for another destination", status, body, http.StatusBadRequest)
	status, body = e.do("alice", "PUT", up+"/0", strings.NewReader("abc"), dest)
	e.want("chunk 0", status, body, http.StatusBadRequest)
	status, body = e.do("alice", "PUT", up+"/1", strings.NewReader("abc"), dest)
	e.want("chunk 1", status, body, http.StatusCreated)
	status, body = e.do("alice", "PUT", up+"/3", strings.NewReader("ghi"), dest)
	e.want("chunk 3", status, body, http.StatusCreated)
	// A cut chunk is not kept.
	e.rawRequest("PUT /remote.php/dav/"+up+"/2 HTTP/1.1\r\nContent-Length: 100", "de")
	e.waitLog("chunk cut short")
	status, body = e.do("alice", "PROPFIND", up+"/", nil, depth1)
	e.want("PROPFIND the upload", status, body, http.StatusMultiStatus)
	want := []string{"/remote.php/dav/uploads/alice/web-1/", "/remote.php/dav/uploads/alice/web-1/00001", "/remote.php/dav/uploads/alice/web-1/00003"}
	if got := hrefs(t, body); !slices.Equal(got, want) {
		t.Fatalf("the upload lists %q, want %q", got, want)
	}
	move := map[string]string{"Destination": dest["Destination"], "OC-Total-Length": "9"}
	status, body = e.do("alice", "MOVE", up+"/.file", nil, move)
	e.want("assembling with a chunk missing", status, body, http.StatusBadRequest)
	status, body = e.do("alice", "PUT", up+"/2", strings.NewReader("def"), dest)
	e.want("chunk 2", status, body, http.StatusCreated)
	status, body = e.do("alice", "MOVE", up+"/.file", nil, map[string]string{"Destination": dest["Destination"], "OC-Total-Length": "10"})
	e.want("assembling with a wrong total", status, body, http.StatusBadRequest)
	// Meanwhile the bundle x became complete by another way: the
	// assembly must not replace it.
	e.write(shared+"/x.c4gh", "first")
	e.write(shared+"/x.json", "{}")
	status, body = e.do("alice", "MOVE", up+"/.file", nil, move)
	e.want("assembling onto a complete bundle", status, body, http.StatusForbidden)
	if e.read(shared+"/x.c4gh") != "first" {
		t.Fatal("the assembly replaced a complete bundle")
	}
	os.Remove(filepath.Join(e.root, shared, "x.json"))
	status, body = e.do("alice", "MOVE", up+"/.file", nil, move)
	e.want("assembling", status, body, http.StatusNoContent)
	if got := e.read(shared + "/x.c4gh"); got != "abcdefghi" {
		t.Fatalf("assembled %q", got)
	}
	status, body = e.do("alice", "MOVE", up+"/.file", nil, move)
	e.want("assembling again", status, body, http.StatusNotFound)

	status, body = e.do("alice", "MKCOL", "uploads/alice/web-2", nil, dest)
	e.want("MKCOL", status, body, http.StatusCreated)
	status, body = e.do("alice", "DELETE", "uploads/alice/web-2", nil, nil)
	e.want("abort", status, body, http.StatusNoContent)
	if left, _ := os.ReadDir(filepath.Join(e.uploads, "alice")); len(left) != 0 {
		t.Fatalf("uploads left behind: %v", left)
	}
}

func TestSweep(t *testing.T) {
	e := newEnv(t)
	dest := map[string]string{"Destination": e.url("files/alice/" + shared + "/x.c4gh")}
	status, body := e.do("alice", "MKCOL", "uploads/alice/old", nil, dest)
	e.want("MKCOL", status, body, http.StatusCreated)
	e.write(shared+"/.siirto-put-stale", "left by a crash")
	e.write(shared+"/.siirto-receipt-1", "not ours")
	day := 24 * time.Hour
	if err := e.s.Sweep(time.Now().Add(day - time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.uploads, "alice", "old")); err != nil {
		t.Fatalf("a young upload was swept: %v", err)
	}
	if err := e.s.Sweep(time.Now().Add(day + time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.uploads, "alice", "old")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an expired upload was kept: %v", err)
	}
	if got := e.entries(shared); !slices.Equal(got, []string{".siirto-receipt-1", "journal_number.txt"}) {
		t.Fatalf("after the sweep the folder holds %v", got)
	}
}
