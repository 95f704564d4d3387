package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressDraw(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, label: "Encrypting", total: 4 << 30, start: time.Now().Add(-2 * time.Second)}
	p.Set(1 << 30)
	p.draw(false)
	line := buf.String()
	for _, want := range []string{"Encrypting", " 25%", "1.0 GiB / 4.0 GiB", "ETA"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	var nilBar *progress
	nilBar.Set(5) // a disabled bar must be safe to feed
	nilBar.Finish()
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 30: "5.0 GiB"} {
		if got := size(n); got != want {
			t.Errorf("size(%d) = %q, want %q", n, got, want)
		}
	}
}
