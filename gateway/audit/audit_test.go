package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func writeLog(t *testing.T, n int) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range n {
		if _, err := l.Append(Entry{Actor: "gateway", Action: "state", Bundle: fmt.Sprint("b", i),
			Fields: map[string]string{"state": "staged"}}); err != nil {
			t.Fatal(err)
		}
	}
	return path, l.Head()
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestAppendVerify(t *testing.T) {
	path, head := writeLog(t, 50)
	data, _ := os.ReadFile(path)
	n, err := Verify(bytes.NewReader(data), head)
	if err != nil || n != 50 {
		t.Fatalf("Verify: %d entries, %v", n, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode %v, want 0600", st.Mode().Perm())
	}
	// Reopening continues the chain.
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.Append(Entry{Actor: "staff:bob", Action: "delivered", Bundle: "b1"})
	l.Close()
	if err != nil || e.Seq != 51 || e.Prev != head {
		t.Fatalf("continued entry %+v, %v", e, err)
	}
	data, _ = os.ReadFile(path)
	if _, err := Verify(bytes.NewReader(data), e.Hash); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	path, head := writeLog(t, 10)
	orig := lines(t, path)
	cases := map[string]func([]string) []string{
		"an edited field": func(l []string) []string {
			l[4] = strings.Replace(l[4], `"staged"`, `"rejected"`, 1)
			return l
		},
		"a removed entry":   func(l []string) []string { return append(l[:3:3], l[4:]...) },
		"two swapped":       func(l []string) []string { l[2], l[3] = l[3], l[2]; return l },
		"a removed tail":    func(l []string) []string { return l[:7] },
		"an inserted entry": func(l []string) []string { return append(l[:5:5], append([]string{l[2]}, l[5:]...)...) },
		"an edit with its own hash recomputed": func(l []string) []string {
			// Fixing the edited line's hash still breaks the next link.
			var e Entry
			if err := json.Unmarshal([]byte(l[4]), &e); err != nil {
				t.Fatal(err)
			}
			e.Bundle = "bX"
			e.Hash, _ = e.hash()
			b, _ := json.Marshal(e)
			l[4] = string(b) + "\n"
			if _, err := Verify(strings.NewReader(strings.Join(l[:5], "")), ""); err != nil {
				t.Fatalf("the recomputed line should verify on its own: %v", err)
			}
			return l
		},
	}
	for name, mod := range cases {
		mod := mod
		t.Run(name, func(t *testing.T) {
			l := mod(append([]string(nil), orig...))
			if _, err := Verify(strings.NewReader(strings.Join(l, "")), head); !errors.Is(err, ErrBroken) {
				t.Fatalf("got %v, want ErrBroken", err)
			}
		})
	}
}

// TestCrashMidWrite: a last line cut short by a crash was never
// acknowledged; Open drops it and the chain goes on.
func TestCrashMidWrite(t *testing.T) {
	path, head := writeLog(t, 5)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":6,"time":"2026-`)
	f.Close()
	l, err := Open(path)
	if err != nil {
		t.Fatalf("reopening after a cut write: %v", err)
	}
	if l.Head() != head {
		t.Fatal("the cut line moved the head")
	}
	e, err := l.Append(Entry{Actor: "gateway", Action: "restart"})
	l.Close()
	if err != nil || e.Seq != 6 {
		t.Fatalf("%+v, %v", e, err)
	}
	data, _ := os.ReadFile(path)
	if _, err := Verify(bytes.NewReader(data), e.Hash); err != nil {
		t.Fatal(err)
	}
	// Damage that is not a cut write refuses to open: appending would hide it.
	l2 := lines(t, path)
	l2[1] = strings.Replace(l2[1], "gateway", "intruder", 1)
	os.WriteFile(path, []byte(strings.Join(l2, "")), 0o600)
	if _, err := Open(path); !errors.Is(err, ErrBroken) {
		t.Fatalf("opening a tampered log: %v", err)
	}
}

func TestConcurrentAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				if _, err := l.Append(Entry{Actor: fmt.Sprint("w", i), Action: "state", Bundle: fmt.Sprint(j)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	head := l.Head()
	l.Close()
	data, _ := os.ReadFile(path)
	if n, err := Verify(bytes.NewReader(data), head); err != nil || n != 160 {
		t.Fatalf("%d entries, %v", n, err)
	}
}

func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	l, _ := Open(filepath.Join(dir, "a.jsonl"))
	for i := range 3 {
		l.Append(Entry{Actor: "gateway", Action: "state", Bundle: fmt.Sprint(i)})
	}
	l.Close()
	data, _ := os.ReadFile(filepath.Join(dir, "a.jsonl"))
	f.Add(data)
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Verify(bytes.NewReader(data), "")
		if err != nil && !errors.Is(err, ErrBroken) {
			t.Fatalf("an error without ErrBroken: %v", err)
		}
		// Whatever verifies, verifies only against its own head.
		if err == nil {
			if _, err := Verify(bytes.NewReader(data), "not-the-head"); !errors.Is(err, ErrBroken) {
				t.Fatalf("a log verified against a head it does not end in: %v", err)
			}
		}
	})
}

// TestTwoWriters: the server and an admin command append to one file
// through their own Logs; the chain stays whole.
func TestTwoWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range 10 {
		l := a
		if i%3 == 0 {
			l = b
		}
		if _, err := l.Append(Entry{Actor: "gateway", Action: "state"}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := Verify(f, a.Head())
	if err != nil || n != 10 {
		t.Fatalf("Verify: %d entries, %v", n, err)
	}
}
