package main

import (
	"bytes"
	"io"
	"testing"
)

// TestCounting: a payload that can be read at offsets stays one (or
// decrypt --extract would write the plaintext zip after all), and the
// progress it reports only grows, never past the size, and counts the
// bytes from the start without a gap: a read of the end first, or of the
// header before reading from the start, is not counted twice.
func TestCounting(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 1000)
	var reports []int64
	r := counting(bytes.NewReader(data), int64(len(data)), func(n int64) { reports = append(reports, n) })
	ra, ok := r.(io.ReaderAt)
	if !ok {
		t.Fatal("counting hid io.ReaderAt")
	}
	buf := make([]byte, 100)
	ra.ReadAt(buf, 900) // the zip's end, first
	ra.ReadAt(buf, 0)   // the header
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	last := int64(0)
	for _, n := range reports {
		if n < last || n > int64(len(data)) {
			t.Fatalf("progress %v", reports)
		}
		last = n
	}
	if last != int64(len(data)) || reports[0] != 100 {
		t.Fatalf("progress %v: want it to start at the header and end at %d", reports, len(data))
	}
	if _, ok := counting(io.MultiReader(bytes.NewReader(data)), -1, func(int64) {}).(io.ReaderAt); ok {
		t.Fatal("a stream became an io.ReaderAt")
	}
}
