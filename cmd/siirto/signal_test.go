//go:build unix

package main

import (
	"archive/zip"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siirto/siirto/internal/testserver"
)

// TestInterruptLeavesNothing runs the real binary, presses Ctrl-C (SIGINT)
// while it encrypts, and checks the exit status and that no file, final
// or temporary, is left in the output folder.
func TestInterruptLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and writes 512 MiB")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "siirto")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	mustRun(t, dir, "keygen", "--no-passphrase", "k")
	write(t, filepath.Join(dir, "journal_number.txt"), "2022/53\n")
	big, err := os.Create(filepath.Join(dir, "big.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(big)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "zeros", Method: zip.Store})
	chunk := make([]byte, 1<<20)
	for range 512 {
		w.Write(chunk)
	}
	zw.Close()
	big.Close()

	out := filepath.Join(dir, "out")
	cmd := exec.Command(bin, "--quiet", "encrypt", "--workers", "1", "-r", "k.pub", "-o", out, "big.zip")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the payload's temporary file exists: encryption is under way.
	deadline := time.Now().Add(20 * time.Second)
	for !hasPart(out) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("encryption never started")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("after Ctrl-C: %v, want exit status 130", err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 0 {
		t.Fatalf("an interrupted encrypt left %v", entries)
	}
}

func hasPart(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".part-") {
			return true
		}
	}
	return false
}

// TestUploadKilledThenResumed kills the real binary (SIGKILL: no cleanup
// at all) after its second chunk reached a Nextcloud-shaped server, then
// runs the same upload again: it finishes without resending that chunk,
// and the bundle on the server passes every check with the key.
func TestUploadKilledThenResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and uploads 40 MiB")
	}
	nc := testserver.NextcloudServer(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "siirto")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	mustRun(t, dir, "keygen", "--no-passphrase", "authority")
	write(t, filepath.Join(dir, "journal_number.txt"), "2022/53\n")
	data := make([]byte, 40<<20)
	rand.NewChaCha8([32]byte{1}).Read(data)
	write(t, filepath.Join(dir, "extract", "table.bin"), string(data))
	mustRun(t, dir, "encrypt", "--store", "-r", "authority.pub", "extract")

	folder := filepath.Join(nc.Root, "2022_53")
	write(t, filepath.Join(folder, "journal_number.txt"), "2022/53\n")
	to := nc.URL + "2022_53/"
	args := []string{"--quiet", "upload", "--user", nc.User, "--to", to, "extract.json"}

	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SIIRTO_PASSWORD="+nc.Password)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	// Chunks go one after another, and the client logs each as it is
	// accepted: once the server has the second, the first is in the log.
	for nc.ChunksSent() < 2 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no chunk arrived")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(folder, "extract.c4gh")); err == nil {
		t.Fatal("the payload appeared although the upload was killed")
	}
	before := nc.ChunksSent()

	t.Setenv("SIIRTO_PASSWORD", nc.Password)
	mustRun(t, dir, args...)
	if resent, total := nc.ChunksSent()-before, 3; resent >= total {
		t.Errorf("the resumed upload sent %d of %d chunks again", resent, total)
	}
	if n := len(nc.Uploads()); n != 0 {
		t.Errorf("%d upload folders left", n)
	}
	mustRun(t, dir, "verify", "--journal-folder", "--key", "authority.sec", folder)
}
