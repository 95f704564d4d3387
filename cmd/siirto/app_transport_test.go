package main

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// TestBufPipe: the app's pipe between the encryption and the upload
// passes every byte in order across the ring's wrap, whatever the sizes
// of the writes and reads; a writer goes on while there is room; closing
// either side reaches the other, as io.Pipe's CloseWithError does.
func TestBufPipe(t *testing.T) {
	data := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	p := newBufPipe(1000)
	go func() {
		for rest := data; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(3000))
			if _, err := p.Write(rest[:k]); err != nil {
				p.closeWrite(err)
				return
			}
			rest = rest[k:]
		}
		p.closeWrite(nil)
	}()
	var got bytes.Buffer
	buf := make([]byte, 2500)
	sizes := rand.New(rand.NewPCG(3, 4))
	for {
		n, err := p.Read(buf[:1+sizes.IntN(len(buf))])
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("%d bytes came through, not the %d written", got.Len(), len(data))
	}

	// Room: a write that fits returns with no reader.
	p = newBufPipe(10)
	if n, err := p.Write([]byte("0123456789")); n != 10 || err != nil {
		t.Fatalf("a write that fits: %d, %v", n, err)
	}
	// Full: the next write waits, until the reader stops and says why.
	stopped := errors.New("the upload stopped")
	wrote := make(chan error, 1)
	go func() { _, err := p.Write([]byte("x")); wrote <- err }()
	select {
	case err := <-wrote:
		t.Fatalf("a write into a full pipe returned: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	p.closeRead(stopped)
	if err := <-wrote; err != stopped {
		t.Fatalf("the writer got %v, want the reader's error", err)
	}

	// The writer's error reaches the reader after what it wrote.
	p = newBufPipe(10)
	broke := errors.New("the encryption broke")
	p.Write([]byte("abc"))
	p.closeWrite(broke)
	if b, err := io.ReadAll(p); string(b) != "abc" || err != broke {
		t.Fatalf("read %q, %v; want abc and the writer's error", b, err)
	}
}
