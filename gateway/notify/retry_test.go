package notify

import (
	"net/http"
	"testing"
	"time"
)

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
		now.Add(5 * time.Hour).Format(http.TimeFormat): retryAfterCap,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
