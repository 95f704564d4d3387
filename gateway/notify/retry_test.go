package notify

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		attempt int
		max     time.Duration
	}{
		{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second},
		{10, 512 * time.Second}, {11, backoffCap}, {40, backoffCap}, {1 << 30, backoffCap},
	} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := Backoff(c.attempt)
			if d < c.max/2 || d > c.max {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", c.attempt, d, c.max/2, c.max)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Backoff(%d) has no jitter: always %v", c.attempt, seen)
		}
	}
}

func TestDelay(t *testing.T) {
	if d := Delay(1, errors.New("x")); d > time.Second {
		t.Errorf("Delay without Retry-After = %v", d)
	}
	if d := Delay(1, &Error{RetryAfter: 42 * time.Second}); d != 42*time.Second {
		t.Errorf("Delay with Retry-After 42s = %v", d)
	}
	if d := Delay(1, &Error{RetryAfter: 30 * 24 * time.Hour}); d != retryAfterCap {
		t.Errorf("Delay with Retry-After 30 days = %v, want the cap %v", d, retryAfterCap)
	}
	if d := Delay(20, &Error{RetryAfter: time.Second}); d < backoffCap/2 {
		t.Errorf("a short Retry-After shortened the backoff: %v", d)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2023, 5, 2, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":     0,
		"120":  2 * time.Minute,
		" 7 ":  7 * time.Second,
		"0":    0,
		"-5":   0,
		"soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
		"99999999999999": retryAfterCap,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
