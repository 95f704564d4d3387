// Package notify tells the authority's data handlers that a bundle was
// staged or rejected, by mail (Mailer) and by webhook (Webhook).
//
// A Notice holds what the gateway checked: journal number, folder, bundle
// name, state, error code, sizes, checksums, file count, staging path. It
// holds no personal data and no names of files inside the bundle, so
// neither does any mail, webhook or log line made from it.
//
// # Delivery and retries
//
// One Send is one attempt, bounded by its context and a timeout. Retrying
// is the caller's job: the gateway keeps notices in a persistent outbox
// (inbox) and retries it with backoff, waiting at least the server's
// Retry-After (Error.Wait), unless errors.Is(err, ErrPermanent): then no
// resend can help and an operator must act. Every attempt to send the same notice carries the same
// delivery id, ID.STATE, so receivers can drop repeats: it is the mail's
// Message-ID <ID.STATE@siirto> and the webhook's X-Siirto-Delivery.
//
// # Mail
//
// A plain-text UTF-8 message (quoted-printable) in Finnish, Swedish or
// English, with the headers X-Siirto-Bundle: ID and X-Siirto-State:
// STATE for filtering. For a rejected bundle the body gives the error
// code's title and advice in the same words the sender was given (from
// package verify). Nothing reaches a header that holds a CR or LF.
//
// # Webhook
//
// A POST with Content-Type application/json and these headers:
//
//	X-Siirto-Event:     bundle.staged | bundle.rejected
//	X-Siirto-Delivery:  <id>.<state>       (the same on every retry)
//	X-Siirto-Timestamp: <Unix seconds when this attempt was signed>
//	X-Siirto-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// The body (Payload) is, schema version 1:
//
//	{
//	  "version": 1,
//	  "event": "bundle.staged",
//	  "delivery": "<id>.staged",
//	  "id": "<id: hex SHA-256 of the bundle's manifest>",
//	  "notice": {
//	    "id": "<id>",
//	    "journal": "THL/1234/14.02.00/2023",
//	    "folder": "THL_1234_14.02.00_2023",       (omitted when unknown)
//	    "bundle": "cohort",
//	    "state": "staged",                        ("staged" or "rejected")
//	    "code": "E_TAMPERED",                     (rejected only)
//	    "payload_size": 1048576,
//	    "payload_sha256": "<hex>",                (omitted when unknown)
//	    "plaintext_size": 1040000,                (0 when unknown)
//	    "plaintext_sha256": "<hex>",              (omitted when unknown)
//	    "files": 12,
//	    "staging_path": "/srv/siirto/staging/…",  (staged only)
//	    "time": "2023-05-02T10:04:05Z",           (RFC 3339: when the state was reached)
//	    "gateway": "gw1"
//	  }
//	}
//
// New fields may appear in version 1; receivers must ignore fields they
// do not know. A 2xx answer is a delivery. 408, 429 and 5xx are retried
// (honouring Retry-After on 429 and 503); any other answer, redirects
// included, is a permanent failure.
//
// A receiver verifies a delivery before trusting it: it reads the raw
// body, computes HMAC-SHA256 with the shared secret over the
// X-Siirto-Timestamp value, a ".", and the body bytes exactly as
// received, compares it in constant time with the hex after "sha256=" in
// X-Siirto-Signature, and refuses timestamps more than a few minutes from
// its clock (replays). VerifySignature does all of this:
//
//	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//	err := notify.VerifySignature(secret, r.Header.Get(notify.HeaderTimestamp), body,
//		r.Header.Get(notify.HeaderSignature), 5*time.Minute)
//
// Then it drops a delivery id it has already handled, and answers 2xx.
package notify
