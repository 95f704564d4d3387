package clients

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// chunkLog records, on this machine, the SHA-256 of every chunk of a
// resumable upload that the server accepted, one line "NAME HEX" each. A
// later run reuses a chunk on the server only if the data it reads now
// hashes the same, so chunks sent from other bytes (an earlier, different
// file of the same size, say) are never mixed in. Without a log (another
// machine, or no cache folder) nothing is reused: slower, never wrong.
type chunkLog struct {
	path string
	sums map[string]string
}

// defaultStateDir is where chunk logs live: the user's cache folder.
func defaultStateDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "siirto", "uploads")
}

// openChunkLog reads the log of upload in dir ("" for none).
func openChunkLog(dir, upload string) *chunkLog {
	l := &chunkLog{sums: map[string]string{}}
	if dir == "" || os.MkdirAll(dir, 0o700) != nil {
		return l
	}
	l.path = filepath.Join(dir, upload+".log")
	f, err := os.Open(l.path)
	if err != nil {
		return l
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// A line cut short by a crash has no valid hash and is ignored.
		if name, sum, ok := strings.Cut(sc.Text(), " "); ok && len(sum) == 64 {
			l.sums[name] = sum
		}
	}
	return l
}

// matches reports whether chunk name was sent with this SHA-256.
func (l *chunkLog) matches(name, sum string) bool { return l.sums[name] == sum }

// record notes that chunk name with this SHA-256 is on the server.
func (l *chunkLog) record(name, sum string) {
	l.sums[name] = sum
	if l.path == "" {
		return
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return // without the line the chunk is merely sent again next time
	}
	defer f.Close()
	if _, err := f.WriteString(name + " " + sum + "\n"); err == nil {
		_ = f.Sync()
	}
}

// reset forgets everything: the upload folder on the server is new.
func (l *chunkLog) reset() {
	l.sums = map[string]string{}
	l.remove()
}

// remove deletes the log once the upload is complete or abandoned.
func (l *chunkLog) remove() {
	if l.path != "" {
		_ = os.Remove(l.path)
	}
}
