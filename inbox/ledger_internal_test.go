package inbox

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestOutboxSteps: the transition rule both ledgers share.
func TestOutboxSteps(t *testing.T) {
	for _, c := range []struct {
		state      State
		notes, all int
		want       []State
	}{
		{StateStaged, 0, 0, []State{StateNotified, StateReceipted}},
		{StateStaged, 0, 1, []State{StateNotified}},
		{StateStaged, 1, 1, nil},
		{StateRejected, 0, 0, []State{StateNotified, StateReceipted}},
		{StateNotified, 0, 1, nil},
		{StateNotified, 0, 0, []State{StateReceipted}},
		{StateReceipted, 0, 0, nil},
		{StateDelivered, 0, 0, nil},
	} {
		if got := outboxSteps(c.state, c.notes, c.all); !slices.Equal(got, c.want) {
			t.Errorf("outboxSteps(%s, %d, %d) = %v, want %v", c.state, c.notes, c.all, got, c.want)
		}
	}
	if err := deliverable(Record{Outcome: OutcomeRejected, State: StateReceipted}); !errors.Is(err, ErrConflict) {
		t.Errorf("a rejected bundle was deliverable: %v", err)
	}
	if err := deliverable(Record{Outcome: OutcomeAccepted, State: StateReceipted}); err != nil {
		t.Error(err)
	}
}

// TestBackoff: exponential from a second, capped at ten minutes, with
// jitter so that retries do not march in step.
func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		attempts int
		max      time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {3, 8 * time.Second}, {9, 512 * time.Second}, {10, 10 * time.Minute}, {1 << 30, 10 * time.Minute}} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := backoff(c.attempts)
			if d < c.max/2 || d > c.max {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", c.attempts, d, c.max/2, c.max)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("backoff(%d) has no jitter", c.attempts)
		}
	}
}

type waitErr time.Duration

func (w waitErr) Error() string       { return "busy" }
func (w waitErr) Wait() time.Duration { return time.Duration(w) }

// TestRetryDelay: a receiver's Retry-After is honoured, up to an hour, and
// never shortens the backoff.
func TestRetryDelay(t *testing.T) {
	if d := retryDelay(0, errors.New("refused")); d > time.Second {
		t.Errorf("plain error: %v", d)
	}
	if d := retryDelay(0, fmt.Errorf("webhook: %w", waitErr(42*time.Second))); d != 42*time.Second {
		t.Errorf("Retry-After 42s: %v", d)
	}
	if d := retryDelay(0, waitErr(30*24*time.Hour)); d != time.Hour {
		t.Errorf("Retry-After 30 days: %v, want the hour cap", d)
	}
	if d := retryDelay(20, waitErr(time.Second)); d < 5*time.Minute {
		t.Errorf("a short Retry-After shortened the backoff: %v", d)
	}
}
