package encrypt

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func bundleOpts(t *testing.T, out string) BundleOptions {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"in/a.csv": "a;b\n", "in/b.csv": string(randomBytes(t, 3*SegmentSize, 5))})
	files, _, err := Plan([]string{filepath.Join(dir, "in")})
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := mustKey(t)
	return BundleOptions{Name: "cohort", JournalNumber: "2022/53", Files: files,
		Recipients: []PublicKey{pk}, OutDir: out, Tool: Tool{Name: "test", Version: "0"}}
}

func TestWriteBundleInterrupted(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	o := bundleOpts(t, out)
	o.Progress = func(int64) { cancel() } // Ctrl-C once reading has started
	before := runtime.NumGoroutine()
	if _, err := WriteBundle(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	// Every goroutine of the engine and the payload writer must be gone.
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines outlived the interrupted bundle", n-before)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("an interrupted bundle left %v", entries)
	}
}

func TestWriteBundleNoOverwrite(t *testing.T) {
	out := t.TempDir()
	o := bundleOpts(t, out)
	m, err := WriteBundle(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Listing || m.Payload.Name != "cohort.c4gh" || m.Plaintext.Name != "cohort.zip" || len(m.Recipients) != 1 || !m.Sender.Ephemeral {
		t.Fatalf("unexpected manifest %+v", m)
	}
	before, _ := os.ReadFile(filepath.Join(out, "cohort.c4gh"))
	if _, err := WriteBundle(context.Background(), o); !errors.Is(err, ErrExists) {
		t.Fatalf("second write: got %v, want ErrExists", err)
	}
	after, _ := os.ReadFile(filepath.Join(out, "cohort.c4gh"))
	if string(before) != string(after) {
		t.Fatal("a refused write changed the existing payload")
	}
	o.Force = true
	m2, err := WriteBundle(context.Background(), o)
	if err != nil {
		t.Fatalf("--force: %v", err)
	}
	// The replacement is a matching pair: the manifest describes the new payload.
	payload, _ := os.ReadFile(filepath.Join(out, "cohort.c4gh"))
	if got := fmt.Sprintf("%x", sha256.Sum256(payload)); got != m2.Payload.SHA256 || m2.Payload.SHA256 == m.Payload.SHA256 {
		t.Fatalf("after --force the payload hashes to %s; the new manifest says %s", got, m2.Payload.SHA256)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Fatalf("left %d files, want exactly the payload and the manifest", len(entries))
	}
}
