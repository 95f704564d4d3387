package testserver

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRcloneWebDAV(t *testing.T) {
	if testing.Short() {
		t.Skip("rclone is an integration server; skipped with -short")
	}
	var d *DAV
	t.Run("server", func(t *testing.T) {
		d = Rclone(t)
		if !strings.HasPrefix(d.URL, "http://127.0.0.1:") || !strings.HasSuffix(d.URL, "/remote.php/dav/files/alice/") {
			t.Fatalf("URL = %q", d.URL)
		}
		content := []byte("a bundle, or something shaped like one\n")
		code, body := do(t, d, "MKCOL", d.URL+"inbox", nil, nil)
		want(t, "MKCOL inbox", code, http.StatusCreated, body)
		code, body = do(t, d, http.MethodPut, d.URL+"inbox/a%20b.c4gh", content, nil)
		want(t, "PUT", code, http.StatusCreated, body)
		if got, err := os.ReadFile(filepath.Join(d.Root, "inbox", "a b.c4gh")); err != nil || !bytes.Equal(got, content) {
			t.Fatalf("file on disk under Root: %q, %v", got, err)
		}
		code, body = do(t, d, "PROPFIND", d.URL+"inbox/", nil, map[string]string{"Depth": "1"})
		want(t, "PROPFIND", code, http.StatusMultiStatus, body)
		if got := hrefs(t, body); len(got) != 2 || got[1] != "/remote.php/dav/files/alice/inbox/a b.c4gh" {
			t.Fatalf("PROPFIND listed %q", got)
		}
		// No chunked upload endpoint: the store falls back to plain PUTs on this.
		code, body = do(t, d, "MKCOL", strings.Replace(d.URL, "/files/", "/uploads/", 1)+"x", nil, map[string]string{"Destination": d.URL + "x"})
		want(t, "MKCOL of an upload", code, http.StatusNotFound, body)

		// The password is checked, though OPTIONS answers anyone: readiness
		// must not be judged by OPTIONS.
		wrong := *d
		wrong.Password = "wrong"
		code, body = do(t, &wrong, "PROPFIND", d.URL, nil, map[string]string{"Depth": "0"})
		want(t, "PROPFIND with a wrong password", code, http.StatusUnauthorized, body)
		code, body = do(t, &wrong, http.MethodPut, d.URL+"x", content, nil)
		want(t, "PUT with a wrong password", code, http.StatusUnauthorized, body)
		code, body = do(t, &wrong, http.MethodOptions, d.URL, nil, nil)
		want(t, "OPTIONS with a wrong password", code, http.StatusOK, body)
	})
	if d == nil {
		t.FailNow()
	}
	// Stopped and removed when its test ended.
	if resp, err := http.Get(d.URL); err == nil {
		resp.Body.Close()
		t.Errorf("%s still answers after its test ended", d.URL)
	}
	if _, err := os.Stat(d.Root); !os.IsNotExist(err) {
		t.Errorf("%s is still on disk: %v", d.Root, err)
	}
}
