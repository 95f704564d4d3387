package inbox

import (
	"errors"
	"slices"
	"testing"
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
