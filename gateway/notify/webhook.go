package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/siirto/siirto/clients"
)

// Webhook headers; see the package documentation.
const (
	HeaderEvent     = "X-Siirto-Event"
	HeaderDelivery  = "X-Siirto-Delivery"
	HeaderTimestamp = "X-Siirto-Timestamp"
	HeaderSignature = "X-Siirto-Signature"
)

// minSecret is the shortest HMAC key accepted: a short key could be
// guessed from one signed delivery.
const minSecret = 16

// ErrBadSignature is what VerifySignature returns (wrapped) for a
// delivery that was not signed with the secret, or not recently.
var ErrBadSignature = errors.New("bad webhook signature")

// Webhook posts notices as signed JSON (see the package documentation).
type Webhook struct {
	// URL receives the POSTs. It must be https, or http to a loopback
	// address.
	URL string
	// Secret is the HMAC-SHA256 key shared with the receiver: at least
	// 16 bytes; 32 random bytes are best.
	Secret []byte
	// Client sends the requests (nil: http.DefaultClient's transport). A
	// redirect is never followed, whatever the client says: a redirected
	// POST turns into a GET elsewhere, a misconfiguration, not a delivery.
	Client  *http.Client
	Timeout time.Duration // the limit of one Send; default 30 seconds
}

// Payload is the JSON body of a webhook delivery.
type Payload struct {
	Version  int    `json:"version"`  // 1; a change that breaks receivers gets a new number
	Event    string `json:"event"`    // "bundle.staged" or "bundle.rejected"
	Delivery string `json:"delivery"` // "ID.STATE": the same for every attempt to send this notice
	ID       string `json:"id"`       // the bundle id
	Notice   Notice `json:"notice"`
}

// Send makes one attempt to POST n. A 2xx answer is a delivery. A failure
// is an *Error: temporary for network errors, 408, 429 and 5xx (with
// RetryAfter from a 429 or 503's Retry-After); permanent for other
// answers, an invalid notice or an unsafe configuration.
func (w *Webhook) Send(ctx context.Context, n Notice) error {
	if err := n.Validate(); err != nil {
		return permanent(err)
	}
	u, err := w.check()
	if err != nil {
		return permanent(err)
	}
	body, err := json.Marshal(Payload{Version: 1, Event: n.Event(), Delivery: n.DeliveryID(), ID: n.ID, Notice: n})
	if err != nil {
		return permanent(fmt.Errorf("webhook: %w", err))
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("webhook: %w", err))
	}
	// Signed now, not when the notice was made: a receiver refuses old
	// timestamps, and a retry may come hours later.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "siirto-gateway")
	req.Header.Set(HeaderEvent, n.Event())
	req.Header.Set(HeaderDelivery, n.DeliveryID())
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, sign(w.Secret, ts, body))

	// Errors name the server, never the whole URL: its query may hold a token.
	where := u.Scheme + "://" + u.Host + u.Path
	var client http.Client
	if w.Client != nil {
		client = *w.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return temporary(fmt.Errorf("webhook POST %s: %w", where, err))
	}
	defer resp.Body.Close()
	// Read a little of the answer, so the connection can be reused and
	// the error can say what the receiver said.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &Error{Status: resp.StatusCode, Err: fmt.Errorf("webhook POST %s: %s: %q", where, resp.Status, bytes.TrimSpace(answer[:min(len(answer), 200)]))}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
	default:
		e.Permanent = true
	}
	return e
}

// check refuses an unsafe or unusable configuration.
func (w *Webhook) check() (*url.URL, error) {
	u, err := url.Parse(w.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook URL: %w", err)
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
	case u.Scheme == "http" && u.Host != "" && clients.IsLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("webhook URL %s://%s%s must be https, or http to a loopback address", u.Scheme, u.Host, u.Path)
	}
	if u.User != nil {
		return nil, errors.New("webhook URL must not hold a user or password: the signature authenticates")
	}
	if len(w.Secret) < minSecret {
		return nil, fmt.Errorf("webhook secret has %d bytes, fewer than %d", len(w.Secret), minSecret)
	}
	return u, nil
}

// sign is the X-Siirto-Signature value: "sha256=" and the hex
// HMAC-SHA256 of timestamp, ".", body. The timestamp is signed too so an
// old delivery cannot be replayed with a fresh one.
func sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature is what a receiver calls with the raw request body and
// the X-Siirto-Timestamp and X-Siirto-Signature headers: it returns nil
// when signature is the HMAC-SHA256 under secret of timestamp + "." +
// body, and timestamp (Unix seconds) is within maxSkew of now (maxSkew
// 0: any age, which lets replays through). Otherwise the error wraps
// ErrBadSignature. The comparison takes constant time.
func VerifySignature(secret []byte, timestamp string, body []byte, signature string, maxSkew time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to check it with", ErrBadSignature)
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrBadSignature, timestamp)
	}
	if maxSkew > 0 {
		if skew := time.Since(time.Unix(sec, 0)).Abs(); skew > maxSkew {
			return fmt.Errorf("%w: timestamp is %v away from now, more than %v", ErrBadSignature, skew.Round(time.Second), maxSkew)
		}
	}
	got, ok := strings.CutPrefix(strings.TrimSpace(signature), "sha256=")
	if !ok {
		return fmt.Errorf("%w: it does not start with sha256=", ErrBadSignature)
	}
	mac, err := hex.DecodeString(got)
	if err != nil {
		return fmt.Errorf("%w: not hex", ErrBadSignature)
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(sign(secret, timestamp, body), "sha256="))
	if !hmac.Equal(mac, want) {
		return fmt.Errorf("%w: it does not match the body and timestamp", ErrBadSignature)
	}
	return nil
}
