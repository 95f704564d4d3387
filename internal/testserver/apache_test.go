package testserver

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// do sends one request and returns its status and body.
func do(t *testing.T, d *DAV, method, target string, body []byte, header map[string]string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body) // sets ContentLength: never a chunked PUT
	}
	req, err := http.NewRequest(method, target, r)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(d.User, d.Password)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, target, err)
	}
	return resp.StatusCode, got
}

func want(t *testing.T, what string, got, want int, body []byte) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d\n%s", what, got, want, body)
	}
}

// hrefs are the paths a PROPFIND multistatus answer names, unescaped.
func hrefs(t *testing.T, body []byte) []string {
	t.Helper()
	var ms struct {
		Responses []struct {
			Href string `xml:"DAV: href"`
		} `xml:"DAV: response"`
	}
	if err := xml.Unmarshal(body, &ms); err != nil {
		t.Fatalf("PROPFIND answer: %v\n%s", err, body)
	}
	var out []string
	for _, r := range ms.Responses {
		p, err := url.PathUnescape(r.Href)
		if err != nil {
			t.Fatalf("href %q: %v", r.Href, err)
		}
		out = append(out, p)
	}
	return out
}

func TestApacheWebDAV(t *testing.T) {
	d := Apache(t)
	if !strings.HasSuffix(d.URL, "/remote.php/dav/files/alice/") || !strings.HasPrefix(d.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %q", d.URL)
	}
	if d.User != "alice" || d.Password == "" {
		t.Fatalf("User, Password = %q, %q", d.User, d.Password)
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	base := u.Path // /remote.php/dav/files/alice/

	code, body := do(t, d, "MKCOL", d.URL+"inbox", nil, nil)
	want(t, "MKCOL inbox", code, http.StatusCreated, body)
	code, body = do(t, d, "MKCOL", d.URL+"inbox", nil, nil)
	want(t, "MKCOL inbox again", code, http.StatusMethodNotAllowed, body)
	if fi, err := os.Stat(filepath.Join(d.Root, "inbox")); err != nil || !fi.IsDir() {
		t.Fatalf("inbox on disk: %v, %v", fi, err)
	}

	content := []byte("a bundle, or something shaped like one\n")
	code, body = do(t, d, http.MethodPut, d.URL+"inbox/a b.c4gh", content, map[string]string{"Content-Type": "application/octet-stream"})
	want(t, "PUT", code, http.StatusCreated, body)
	onDisk, err := os.ReadFile(filepath.Join(d.Root, "inbox", "a b.c4gh"))
	if err != nil || !bytes.Equal(onDisk, content) {
		t.Fatalf("file on disk under Root: %q, %v", onDisk, err)
	}
	code, body = do(t, d, http.MethodPut, d.URL+"inbox/a%20b.c4gh", content, nil)
	want(t, "PUT over it", code, http.StatusNoContent, body)

	code, body = do(t, d, http.MethodGet, d.URL+"inbox/a%20b.c4gh", nil, nil)
	want(t, "GET", code, http.StatusOK, body)
	if !bytes.Equal(body, content) {
		t.Fatalf("GET gave %q, want %q", body, content)
	}

	code, body = do(t, d, "PROPFIND", d.URL+"inbox/", nil, map[string]string{"Depth": "1"})
	want(t, "PROPFIND Depth 1", code, http.StatusMultiStatus, body)
	listed := hrefs(t, body)
	if len(listed) != 2 || listed[0] != base+"inbox/" || listed[1] != base+"inbox/a b.c4gh" {
		t.Fatalf("PROPFIND listed %q, want the folder and the file", listed)
	}

	code, body = do(t, d, "MOVE", d.URL+"inbox/a%20b.c4gh", nil, map[string]string{"Destination": d.URL + "inbox/done.c4gh"})
	want(t, "MOVE to a new name", code, http.StatusCreated, body)
	code, body = do(t, d, http.MethodPut, d.URL+"inbox/other", []byte("x"), nil)
	want(t, "PUT other", code, http.StatusCreated, body)
	code, body = do(t, d, "MOVE", d.URL+"inbox/other", nil, map[string]string{"Destination": d.URL + "inbox/done.c4gh", "Overwrite": "T"})
	want(t, "MOVE over an existing name", code, http.StatusNoContent, body)
	code, body = do(t, d, "MOVE", d.URL+"inbox/done.c4gh", nil, map[string]string{"Destination": d.URL + "inbox/x", "Overwrite": "F"})
	want(t, "MOVE with Overwrite F to a new name", code, http.StatusCreated, body)
	code, body = do(t, d, http.MethodGet, d.URL+"inbox/done.c4gh", nil, nil)
	want(t, "GET the moved-away name", code, http.StatusNotFound, body)
	if _, err := os.Stat(filepath.Join(d.Root, "inbox", "a b.c4gh")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the moved file is still on disk under its old name: %v", err)
	}

	code, body = do(t, d, http.MethodDelete, d.URL+"inbox/x", nil, nil)
	want(t, "DELETE the file", code, http.StatusNoContent, body)
	code, body = do(t, d, http.MethodDelete, d.URL+"inbox/x", nil, nil)
	want(t, "DELETE it again", code, http.StatusNotFound, body)
	code, body = do(t, d, http.MethodDelete, d.URL+"inbox/", nil, nil)
	want(t, "DELETE the folder", code, http.StatusNoContent, body)
	if _, err := os.Stat(filepath.Join(d.Root, "inbox")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the deleted folder is still on disk: %v", err)
	}

	wrong := *d
	wrong.Password += "x"
	code, body = do(t, &wrong, "PROPFIND", d.URL, nil, map[string]string{"Depth": "0"})
	want(t, "PROPFIND with a wrong password", code, http.StatusUnauthorized, body)
	code, body = do(t, &wrong, http.MethodPut, d.URL+"nope", []byte("x"), nil)
	want(t, "PUT with a wrong password", code, http.StatusUnauthorized, body)
	if _, err := os.Stat(filepath.Join(d.Root, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a refused PUT left a file: %v", err)
	}
	req, err := http.NewRequest(http.MethodGet, d.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want(t, "GET without credentials", resp.StatusCode, http.StatusUnauthorized, nil)
}

// Each call gets its own server, port and folder, also in parallel tests,
// and stops it when its test ends.
func TestApacheSeveral(t *testing.T) {
	if testing.Short() {
		t.Skip("Apache is an integration server; skipped with -short")
	}
	var (
		mu      sync.Mutex
		servers []*DAV
	)
	t.Run("group", func(t *testing.T) {
		for _, name := range []string{"one", "two", "three"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				d := ApacheWith(t, Options{User: "bob"})
				if !strings.HasSuffix(d.URL, "/remote.php/dav/files/bob/") || d.User != "bob" {
					t.Fatalf("URL, User = %q, %q", d.URL, d.User)
				}
				code, body := do(t, d, http.MethodPut, d.URL+name, []byte(name), nil)
				want(t, "PUT", code, http.StatusCreated, body)
				code, body = do(t, d, "PROPFIND", d.URL, nil, map[string]string{"Depth": "1"})
				want(t, "PROPFIND", code, http.StatusMultiStatus, body)
				if got := hrefs(t, body); len(got) != 2 {
					t.Fatalf("server %s lists %q: another test's file is there", name, got)
				}
				mu.Lock()
				servers = append(servers, d) // the parallel subtests end before group returns
				mu.Unlock()
			})
		}
	})
	if len(servers) != 3 {
		t.Fatalf("%d servers started", len(servers))
	}
	seen := map[string]bool{}
	for _, d := range servers {
		if seen[d.URL] {
			t.Fatalf("two servers share %s", d.URL)
		}
		seen[d.URL] = true
		// Stopped and removed by their tests' cleanup.
		if _, err := http.Get(d.URL); err == nil {
			t.Errorf("%s still answers after its test ended", d.URL)
		}
		if _, err := os.Stat(d.Root); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still on disk: %v", d.Root, err)
		}
	}
}
