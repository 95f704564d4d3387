package notify

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrPermanent matches (with errors.Is) a failure that sending the same
// notice again will not cure: an SMTP 5xx reply, a webhook 4xx other than
// 408 and 429, an invalid notice or configuration. The outbox should stop
// retrying it and tell an operator. Every other error is temporary.
var ErrPermanent = errors.New("permanent failure")

// Error is a failed delivery attempt.
type Error struct {
	Permanent bool // see ErrPermanent
	// Status is the SMTP reply code or HTTP status that failed the
	// attempt, or 0 when there was none (a network error, a refusal
	// before sending).
	Status int
	// RetryAfter is how long the server asked to wait (a webhook's
	// Retry-After on 429 or 503), or 0.
	RetryAfter time.Duration
	Err        error
}

// Error says what failed, and whether it is worth retrying.
func (e *Error) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	if e.RetryAfter > 0 {
		return fmt.Sprintf("notify: %v (%s; retry after %v)", e.Err, kind, e.RetryAfter)
	}
	return fmt.Sprintf("notify: %v (%s)", e.Err, kind)
}

// Unwrap returns the cause: a *textproto.Error, a network or context error, ….
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrPermanent) true for a permanent Error.
func (e *Error) Is(target error) bool { return target == ErrPermanent && e.Permanent }

// permanent wraps err as a permanent failure with no status.
func permanent(err error) error { return &Error{Permanent: true, Err: err} }

// temporary wraps err as a temporary failure with no status.
func temporary(err error) error { return &Error{Err: err} }

// retryAfterCap bounds a server's Retry-After, so that a wrong header
// cannot stall notices for days.
const retryAfterCap = time.Hour

// Wait is how long the receiver asked to be left alone (Retry-After), at
// most an hour; the outbox waits at least that before the next attempt.
func (e *Error) Wait() time.Duration { return e.RetryAfter }

// retryAfter parses a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(retryAfterCap/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), retryAfterCap)
	}
	return 0
}
