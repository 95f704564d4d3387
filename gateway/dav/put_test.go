package dav

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// rawRequest writes a request by hand and closes the connection without
// waiting, as a client that loses its network does.
func (e *env) rawRequest(head string, body string) {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("alice:pw-alice"))
	if _, err := fmt.Fprintf(conn, "%s\r\nHost: x\r\nAuthorization: Basic %s\r\n\r\n%s", head, auth, body); err != nil {
		e.t.Fatal(err)
	}
	conn.(*net.TCPConn).SetLinger(0) // a reset, not an orderly end
	conn.Close()
}

func TestCutPutLeavesNothing(t *testing.T) {
	e := newEnv(t)
	p := "/remote.php/dav/files/alice/" + shared + "/cut.c4gh"
	e.rawRequest("PUT "+p+" HTTP/1.1\r\nContent-Length: 1000000", strings.Repeat("x", 1000))
	e.waitLog("upload cut short")
	// Chunked transfer encoding, cut inside a chunk.
	e.rawRequest("PUT "+p+" HTTP/1.1\r\nTransfer-Encoding: chunked", "3e8\r\n"+strings.Repeat("y", 500))
	for deadline := time.Now().Add(5 * time.Second); strings.Count(e.logs.String(), "upload cut short") < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the second cut upload was never noticed:\n%s", e.logs.String())
		}
	}
	if got := e.entries(shared); !slices.Equal(got, []string{"journal_number.txt"}) {
		t.Fatalf("cut uploads left %v", got)
	}
	if ev := e.events.snapshot(); len(ev.stored) != 0 {
		t.Fatalf("a cut upload was reported stored: %v", ev.stored)
	}
}

func TestPut(t *testing.T) {
	e := newEnv(t)
	base := "files/alice/" + shared + "/"
	// A body of unknown length goes with chunked transfer encoding.
	pr, pw := io.Pipe()
	go func() {
		for range 100 {
			pw.Write([]byte(strings.Repeat("z", 1000)))
		}
		pw.Close()
	}()
	req, err := http.NewRequest("PUT", e.url(base+"streamed.c4gh"), pr)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("alice", "pw-alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("ETag") == "" {
		t.Fatalf("a streamed PUT: %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	if got := e.read(shared + "/streamed.c4gh"); got != strings.Repeat("z", 100000) {
		t.Fatalf("the streamed PUT stored %d bytes", len(got))
	}
	st, err := os.Stat(filepath.Join(e.root, shared, "streamed.c4gh"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("an uploaded file's mode: %v %v", st.Mode(), err)
	}
	status, body := e.do("alice", "MKCOL", base+"sub", nil, nil)
	e.want("MKCOL", status, body, http.StatusCreated)
	st, err = os.Stat(filepath.Join(e.root, shared, "sub"))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("a new folder's mode: %v %v", st.Mode(), err)
	}
	status, body = e.do("alice", "PUT", base+"nowhere/x.c4gh", strings.NewReader("x"), nil)
	e.want("PUT without a parent", status, body, http.StatusConflict)
	status, body = e.do("alice", "PUT", base+"sub", strings.NewReader("x"), nil)
	e.want("PUT onto a folder", status, body, http.StatusMethodNotAllowed)
	status, body = e.do("alice", "PUT", base+"streamed.c4gh", strings.NewReader("x"), map[string]string{"If-None-Match": "*"})
	e.want("PUT If-None-Match: * onto a file", status, body, http.StatusPreconditionFailed)
	status, body = e.do("alice", "PUT", base+"streamed.c4gh", strings.NewReader("x"), map[string]string{"Content-Range": "bytes 0-0/5"})
	e.want("a partial PUT", status, body, http.StatusBadRequest)
	// A file in a subfolder is stored, but is no news for the gateway.
	status, body = e.do("alice", "PUT", base+"sub/inner.json", strings.NewReader("{}"), nil)
	e.want("PUT in a subfolder", status, body, http.StatusCreated)
	if ev := e.events.snapshot(); !slices.Equal(ev.stored, []string{"alice 2022_53/streamed.c4gh 100000"}) {
		t.Fatalf("Stored events: %q", ev.stored)
	}
	if got := e.entries(shared); !slices.Equal(got, []string{"journal_number.txt", "streamed.c4gh", "sub"}) {
		t.Fatalf("the folder holds %v", got)
	}
}

// TestPutNeverPartial watches the folder while a slow upload arrives:
// the final name appears only when the upload is complete.
func TestPutNeverPartial(t *testing.T) {
	e := newEnv(t)
	const size = 4 << 20
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("PUT", e.url("files/alice/"+shared+"/slow.c4gh"), pr)
		req.ContentLength = size
		req.SetBasicAuth("alice", "pw-alice")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	w := bufio.NewWriterSize(pw, 1<<20)
	chunk := make([]byte, 1<<20)
	for i := range size / len(chunk) {
		w.Write(chunk)
		w.Flush()
		if _, err := os.Stat(filepath.Join(e.root, shared, "slow.c4gh")); err == nil {
			t.Fatalf("the final name appeared after %d of %d MiB", i+1, size>>20)
		}
	}
	pw.Close()
	if status := <-done; status != http.StatusCreated {
		t.Fatalf("the slow PUT: %d", status)
	}
	if st, err := os.Stat(filepath.Join(e.root, shared, "slow.c4gh")); err != nil || st.Size() != size {
		t.Fatalf("after the upload: %v", err)
	}
}
