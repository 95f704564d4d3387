package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"time"
	"unicode"
	"unicode/utf8"
)

// The states a notice reports.
const (
	StateStaged   = "staged"   // verified, decrypted and complete in the staging area
	StateRejected = "rejected" // refused with an error code; nothing was staged
)

// Notice is what handlers are told about one bundle. It holds no personal
// data and no inner file names: only what the gateway itself checked.
// Its JSON form is the "notice" object of a webhook delivery.
type Notice struct {
	ID              string    `json:"id"`                         // the bundle id (hex SHA-256 of its manifest): the deduplication key
	Journal         string    `json:"journal"`                    // journal number, such as "THL/1234/14.02.00/2023"
	Folder          string    `json:"folder,omitempty"`           // journal folder name
	Bundle          string    `json:"bundle"`                     // bundle name: NAME of NAME.c4gh and NAME.json
	State           string    `json:"state"`                      // StateStaged or StateRejected
	Code            string    `json:"code,omitempty"`             // the error code when rejected, such as "E_TAMPERED"
	PayloadSize     int64     `json:"payload_size"`               // bytes of NAME.c4gh
	PayloadSHA256   string    `json:"payload_sha256,omitempty"`   // hex SHA-256 of NAME.c4gh
	PlaintextSize   int64     `json:"plaintext_size"`             // bytes of the decrypted zip; 0 if not known
	PlaintextSHA256 string    `json:"plaintext_sha256,omitempty"` // hex SHA-256 of the decrypted zip
	Files           int       `json:"files"`                      // number of files staged
	StagingPath     string    `json:"staging_path,omitempty"`     // absolute path of the staged folder (staged only)
	Time            time.Time `json:"time"`                       // when the state was reached
	Gateway         string    `json:"gateway,omitempty"`          // gateway instance name
}

// DeliveryID is "ID.STATE": the same for every attempt to tell the same
// thing, so receivers can drop repeats. It is the webhook's
// X-Siirto-Delivery and the local part of the mail's Message-ID.
func (n Notice) DeliveryID() string { return n.ID + "." + n.State }

// Event is the webhook event name: "bundle.staged" or "bundle.rejected".
func (n Notice) Event() string { return "bundle." + n.State }

var (
	hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	codeShape = regexp.MustCompile(`^E_[A-Z0-9_]+$`)
)

// Validate reports what makes n unfit to send. Every text field must be
// valid UTF-8 without control characters: they end up in mail headers,
// where a CR or LF would let a bundle's name add headers of its own.
func (n Notice) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, f := range []struct{ name, v string }{
		{"id", n.ID}, {"journal", n.Journal}, {"folder", n.Folder}, {"bundle", n.Bundle},
		{"state", n.State}, {"code", n.Code}, {"payload_sha256", n.PayloadSHA256},
		{"plaintext_sha256", n.PlaintextSHA256}, {"staging_path", n.StagingPath}, {"gateway", n.Gateway},
	} {
		if err := checkText(f.v); err != nil {
			bad("%s %w", f.name, err)
		}
	}
	if !hexSHA256.MatchString(n.ID) {
		bad("id %q is not a lowercase hex SHA-256", n.ID)
	}
	if n.Journal == "" {
		bad("journal is empty")
	}
	if n.Bundle == "" {
		bad("bundle is empty")
	}
	switch n.State {
	case StateStaged:
		if n.Code != "" {
			bad("a staged notice has code %q", n.Code)
		}
	case StateRejected:
		if !codeShape.MatchString(n.Code) {
			bad("a rejected notice needs a code like E_TAMPERED, not %q", n.Code)
		}
		if n.StagingPath != "" {
			bad("a rejected notice has a staging path")
		}
	default:
		bad("state %q is neither %q nor %q", n.State, StateStaged, StateRejected)
	}
	for _, f := range []struct{ name, v string }{{"payload_sha256", n.PayloadSHA256}, {"plaintext_sha256", n.PlaintextSHA256}} {
		if f.v != "" && !hexSHA256.MatchString(f.v) {
			bad("%s %q is not a lowercase hex SHA-256", f.name, f.v)
		}
	}
	if n.PayloadSize < 0 || n.PlaintextSize < 0 || n.Files < 0 {
		bad("negative size or file count")
	}
	if n.StagingPath != "" && !filepath.IsAbs(n.StagingPath) {
		bad("staging path %q is not absolute", n.StagingPath)
	}
	if n.Time.IsZero() {
		bad("time is not set")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("notify: invalid notice: %w", err)
	}
	return nil
}

// checkText refuses what must never reach a header or a log line.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("contains the control character %U", r)
		}
	}
	return nil
}

// LogAttrs are n's fields for the structured log line the gateway writes
// for every notice, whether or not it could be delivered.
func (n Notice) LogAttrs() []slog.Attr {
	attrs := []slog.Attr{
		slog.String("id", n.ID),
		slog.String("journal", n.Journal),
		slog.String("folder", n.Folder),
		slog.String("bundle", n.Bundle),
		slog.String("state", n.State),
	}
	if n.Code != "" {
		attrs = append(attrs, slog.String("code", n.Code))
	}
	attrs = append(attrs,
		slog.Int64("payload_size", n.PayloadSize),
		slog.String("payload_sha256", n.PayloadSHA256),
		slog.Int64("plaintext_size", n.PlaintextSize),
		slog.String("plaintext_sha256", n.PlaintextSHA256),
		slog.Int("files", n.Files),
	)
	if n.StagingPath != "" {
		attrs = append(attrs, slog.String("staging_path", n.StagingPath))
	}
	return append(attrs, slog.Time("time", n.Time), slog.String("gateway", n.Gateway))
}

// LogValue makes a Notice logged as an attribute a group of LogAttrs.
func (n Notice) LogValue() slog.Value { return slog.GroupValue(n.LogAttrs()...) }
