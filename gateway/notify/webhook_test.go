package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// receiver is a webhook endpoint on 127.0.0.1 that keeps what it was sent
// and answers with respond.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{r.Header.Clone(), body})
		rc.mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func status(code int, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, http.StatusText(code))
	}
}

func TestWebhookDelivery(t *testing.T) {
	rc := newReceiver(t, status(http.StatusNoContent))
	w := &Webhook{URL: rc.URL + "/hooks/siirto", Secret: secret}
	for _, n := range []Notice{stagedNotice("hook"), rejectedNotice("hook")} {
		before := time.Now().Unix()
		if err := w.Send(context.Background(), n); err != nil {
			t.Fatalf("%s: %v", n.State, err)
		}
		reqs := rc.got()
		r := reqs[len(reqs)-1]
		h := r.header
		if h.Get("Content-Type") != "application/json" || h.Get(HeaderEvent) != "bundle."+n.State ||
			h.Get(HeaderDelivery) != n.ID+"."+n.State {
			t.Errorf("%s: headers %v", n.State, h)
		}
		ts := h.Get(HeaderTimestamp)
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || sec < before || sec > time.Now().Unix() {
			t.Errorf("%s: timestamp %q", n.State, ts)
		}
		sig := h.Get(HeaderSignature)
		if err := VerifySignature(secret, ts, r.body, sig, time.Minute); err != nil {
			t.Errorf("%s: the signature does not verify: %v", n.State, err)
		}
		// What a receiver must refuse. "other time" is the second before
		// the signed one, not before now: the clock may have ticked since
		// Send, and now-1 would then be the signed second itself.
		tampered := []byte(strings.Replace(string(r.body), `"cohort"`, `"other"`, 1))
		for name, err := range map[string]error{
			"wrong secret":   VerifySignature([]byte("another secret, just as long....."), ts, r.body, sig, time.Minute),
			"tampered body":  VerifySignature(secret, ts, tampered, sig, time.Minute),
			"other time":     VerifySignature(secret, strconv.FormatInt(sec-1, 10), r.body, sig, 0),
			"no prefix":      VerifySignature(secret, ts, r.body, strings.TrimPrefix(sig, "sha256="), time.Minute),
			"not hex":        VerifySignature(secret, ts, r.body, "sha256=zz", time.Minute),
			"empty secret":   VerifySignature(nil, ts, r.body, sig, time.Minute),
			"bad timestamp":  VerifySignature(secret, "yesterday", r.body, sig, time.Minute),
			"empty header":   VerifySignature(secret, ts, r.body, "", time.Minute),
			"replayed later": replayLater(ts, r.body, sig),
		} {
			if !errors.Is(err, ErrBadSignature) {
				t.Errorf("%s %s: VerifySignature = %v, want ErrBadSignature", n.State, name, err)
			}
		}

		var p Payload
		dec := json.NewDecoder(strings.NewReader(string(r.body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("%s: %v: %s", n.State, err, r.body)
		}
		if p.Version != 1 || p.Event != "bundle."+n.State || p.Delivery != n.DeliveryID() || p.ID != n.ID {
			t.Errorf("%s: payload %+v", n.State, p)
		}
		if !p.Notice.Time.Equal(n.Time) {
			t.Errorf("%s: time %v", n.State, p.Notice.Time)
		}
		p.Notice.Time = n.Time
		if p.Notice != n {
			t.Errorf("%s: notice\n%+v\nwant\n%+v", n.State, p.Notice, n)
		}
	}
	// The stable field names receivers rely on.
	var raw struct {
		Notice map[string]any `json:"notice"`
	}
	if err := json.Unmarshal(rc.got()[1].body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "journal", "folder", "bundle", "state", "code", "payload_size", "payload_sha256", "time", "gateway"} {
		if _, ok := raw.Notice[k]; !ok {
			t.Errorf("rejected notice JSON lacks %q: %v", k, raw.Notice)
		}
	}
	if _, ok := raw.Notice["staging_path"]; ok {
		t.Errorf("rejected notice JSON has a staging path")
	}
}

// replayLater checks a captured delivery ten minutes later, as an
// attacker replaying it would make the receiver do.
func replayLater(ts string, body []byte, sig string) error {
	sec, _ := strconv.ParseInt(ts, 10, 64)
	old := strconv.FormatInt(sec-600, 10)
	// The same signature does not match another timestamp, and a correctly
	// signed old one is refused by the skew check.
	if err := VerifySignature(secret, old, body, sig, time.Minute); err == nil {
		return nil
	}
	return VerifySignature(secret, old, body, sign(secret, old, body), 5*time.Minute)
}

func TestWebhookFailures(t *testing.T) {
	n := rejectedNotice("hook")
	httpDate := time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	for _, c := range []struct {
		name       string
		respond    func(http.ResponseWriter, *http.Request)
		permanent  bool
		retryAfter time.Duration // lower bound
	}{
		{"500", status(500), false, 0},
		{"502", status(502), false, 0},
		{"503 with an HTTP date", status(503, "Retry-After", httpDate), false, 110 * time.Second},
		{"408", status(408), false, 0},
		{"429 with Retry-After", status(429, "Retry-After", "7"), false, 7 * time.Second},
		{"400", status(400), true, 0},
		{"401", status(401), true, 0},
		{"404", status(404), true, 0},
		{"302 redirect", status(302, "Location", "/elsewhere"), true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := newReceiver(t, c.respond)
			// A client of one's own, as the gateway passes, must not
			// follow a redirect either.
			err := (&Webhook{URL: rc.URL + "/?token=do-not-log-me", Secret: secret, Client: &http.Client{Timeout: 10 * time.Second}}).Send(context.Background(), n)
			var e *Error
			if !errors.As(err, &e) || errors.Is(err, ErrPermanent) != c.permanent {
				t.Fatalf("Send = %v, want permanent %v", err, c.permanent)
			}
			code, _ := strconv.Atoi(c.name[:3]) // every name starts with its status
			if e.Status != code {
				t.Errorf("Status = %d, want %d", e.Status, code)
			}
			if e.RetryAfter < c.retryAfter || c.retryAfter == 0 && e.RetryAfter != 0 || e.RetryAfter > c.retryAfter+15*time.Second {
				t.Errorf("RetryAfter = %v, want about %v", e.RetryAfter, c.retryAfter)
			}
			if strings.Contains(err.Error(), "do-not-log-me") {
				t.Errorf("the error shows the URL's query: %v", err)
			}
			if got := len(rc.got()); got != 1 {
				t.Errorf("%d requests, want 1 (redirects are not followed)", got)
			}
		})
	}
}

func TestWebhookTimeout(t *testing.T) {
	hang := func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	n := stagedNotice("slow")
	t.Run("Timeout", func(t *testing.T) {
		rc := newReceiver(t, hang)
		start := time.Now()
		err := (&Webhook{URL: rc.URL, Secret: secret, Timeout: 200 * time.Millisecond}).Send(context.Background(), n)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrPermanent) {
			t.Fatalf("Send = %v, want a temporary deadline error", err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("took %v", took)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		rc := newReceiver(t, hang)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := (&Webhook{URL: rc.URL, Secret: secret}).Send(ctx, n)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrPermanent) {
			t.Fatalf("Send = %v, want a temporary deadline error", err)
		}
	})
	t.Run("nobody listening", func(t *testing.T) {
		err := (&Webhook{URL: "http://127.0.0.1:1/", Secret: secret}).Send(context.Background(), n)
		if err == nil || errors.Is(err, ErrPermanent) {
			t.Fatalf("Send = %v, want a temporary error", err)
		}
	})
}

// deadlineTransport answers every request with 204 and keeps the
// deadline of the request's context.
type deadlineTransport struct {
	deadline time.Time
	ok       bool
}

func (d *deadlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	d.deadline, d.ok = r.Context().Deadline()
	return &http.Response{StatusCode: http.StatusNoContent, Status: "204 No Content", Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

// TestWebhookTimeoutDeadline checks the deadline Send puts on a request
// rather than waiting it out: Timeout, longer than the default, is used,
// and no Timeout means the default.
func TestWebhookTimeoutDeadline(t *testing.T) {
	for _, c := range []struct {
		timeout, want time.Duration
	}{
		{time.Hour, time.Hour},
		{0, defaultTimeout},
	} {
		tr := &deadlineTransport{}
		w := &Webhook{URL: "http://127.0.0.1:1/hook", Secret: secret, Client: &http.Client{Transport: tr}, Timeout: c.timeout}
		before := time.Now()
		if err := w.Send(context.Background(), stagedNotice("deadline")); err != nil {
			t.Fatalf("Timeout %v: Send = %v", c.timeout, err)
		}
		after := time.Now()
		if !tr.ok || tr.deadline.Before(before.Add(c.want)) || tr.deadline.After(after.Add(c.want)) {
			t.Errorf("Timeout %v: the request's deadline is %v after the start (set %v), want %v", c.timeout, tr.deadline.Sub(before), tr.ok, c.want)
		}
	}
}

func TestWebhookConfig(t *testing.T) {
	rc := newReceiver(t, status(200))
	bad := stagedNotice("x")
	bad.Bundle = "a\nb"
	for name, c := range map[string]struct {
		w Webhook
		n Notice
	}{
		"http to another host": {Webhook{URL: "http://hooks.example.fi/x", Secret: secret}, stagedNotice("x")},
		"no scheme":            {Webhook{URL: "hooks.example.fi/x", Secret: secret}, stagedNotice("x")},
		"user in URL":          {Webhook{URL: strings.Replace(rc.URL, "://", "://u:p@", 1), Secret: secret}, stagedNotice("x")},
		"short secret":         {Webhook{URL: rc.URL, Secret: []byte("short")}, stagedNotice("x")},
		"invalid notice":       {Webhook{URL: rc.URL, Secret: secret}, bad},
	} {
		if err := c.w.Send(context.Background(), c.n); !errors.Is(err, ErrPermanent) {
			t.Errorf("%s: Send = %v, want a permanent error", name, err)
		}
	}
	if got := len(rc.got()); got != 0 {
		t.Errorf("%d requests reached the receiver", got)
	}
}
