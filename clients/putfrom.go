package clients

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
)

// errUploadEnded ends a producer whose upload has stopped reading.
var errUploadEnded = errors.New("the upload stopped reading")

// Putter is the part of a Store that PutFrom needs.
type Putter interface {
	Put(ctx context.Context, p string, r io.Reader, size int64) error
}

// PutFrom stores at name what produce writes, through a pipe that the
// store reads as the upload's body: producing (encrypting, say) and
// sending overlap, and nothing touches the disk. The size is unknown to
// the store. Either side failing stops the other; the error returned is
// the one that came first: the producer's own (a source that failed), or
// the store's.
func PutFrom(ctx context.Context, store Putter, name string, produce func(ctx context.Context, w io.Writer) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := produce(ctx, pw)
		pw.CloseWithError(err) // nil: the reader sees io.EOF
		done <- err
	}()
	// A pipe has no WriteTo, so an HTTP body copied from it would go out
	// in 32 KiB writes (and as many chunks of chunked encoding); through a
	// 1 MiB bufio.Reader it goes out a megabyte at a time.
	putErr := store.Put(ctx, name, bufio.NewReaderSize(pr, 1<<20), -1)
	if putErr != nil {
		cancel()
	}
	// Always close the reading side: a store that returned before reading
	// everything (a server that answers early) must not leave the producer
	// blocked on the pipe for ever; it then fails, and so does the put.
	pr.CloseWithError(errUploadEnded)
	err := <-done
	switch {
	case putErr == nil && errors.Is(err, errUploadEnded):
		return fmt.Errorf("%w: the server took the upload before all of it was sent", ErrServer)
	case putErr == nil:
		return err
	case err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, errUploadEnded) && !errors.Is(err, putErr):
		return err // the source failed first: say so
	default:
		return putErr
	}
}
