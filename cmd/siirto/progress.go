package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws a one-line bar on a terminal while long work runs. It is
// fed from the working goroutine through Set, and redrawn by its own
// ticker, so the hot path pays one atomic store.
type progress struct {
	w     io.Writer
	label string
	total int64
	done  atomic.Int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
}

// newProgress starts a bar on w, or returns nil (a no-op) when w is not a
// terminal or the user asked for --json or --quiet.
func (e *environment) newProgress(label string, total int64) *progress {
	if e.json || e.quiet || !terminal(e.stderr) {
		return nil
	}
	p := &progress{w: e.stderr, label: text(label, e.lang), total: total, start: time.Now(), stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw(false)
			case <-p.stop:
				p.draw(true)
				return
			}
		}
	}()
	return p
}

// Set records how many bytes are done. Safe on a nil *progress.
func (p *progress) Set(n int64) {
	if p != nil {
		p.done.Store(n)
	}
}

// Finish draws the final state and ends the line. Safe on a nil *progress.
func (p *progress) Finish() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	fmt.Fprintln(p.w)
}

func (p *progress) draw(final bool) {
	done := p.done.Load()
	elapsed := time.Since(p.start).Seconds()
	rate := float64(done) / max(elapsed, 0.001)
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(done)/float64(p.total), 1)
	}
	const width = 30
	fill := int(frac * width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	eta := ""
	if !final && rate > 0 && p.total > done {
		eta = " ETA " + time.Duration(float64(p.total-done)/rate*float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%-11s [%s] %3.0f%%  %s / %s  %s/s%s\033[K",
		p.label, bar, frac*100, size(done), size(p.total), size(int64(rate)), eta)
}

// size formats a byte count for people: 1.5 GiB.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
