// Package gateway is the siirto-gateway server process: its configuration
// and data folder, the HTTP endpoints (embedded WebDAV, health, metrics,
// the staff API), notifications, and the wiring of the inbox pipeline,
// the ledger, the accounts and the audit log.
package gateway

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/siirto/siirto/clients"
)

// ConfigName is the config file's name in the data folder.
const ConfigName = "gateway.toml"

// Config is the gateway's configuration: the TOML file, then environment
// variables SIIRTO_GATEWAY_<KEY> (upper case, dots as underscores, e.g.
// SIIRTO_GATEWAY_SMTP_ADDR), then command-line flags. Relative paths are
// relative to the data folder. docs/gateway.md lists every key.
type Config struct {
	// Name identifies this gateway in receipts, notices and logs.
	Name string `toml:"name"`
	// Data is the data folder; "" is the config file's folder.
	Data string `toml:"data"`
	// Listen is the HTTP address. Plain HTTP is allowed only on loopback;
	// elsewhere TLSCert and TLSKey are required.
	Listen  string `toml:"listen"`
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// KeyPassphraseFile holds the passphrase of the gateway's Crypt4GH
	// secret key, for unattended start; SIIRTO_GATEWAY_PASSPHRASE wins.
	KeyPassphraseFile string `toml:"key_passphrase_file"`
	// LedgerURL selects a PostgreSQL ledger shared by several gateway
	// workers ("postgres://user@host/db?sslmode=verify-full", or
	// "file:PATH" to read that URL from a 0600 file, as it may hold a
	// password). Empty: the embedded SQLite ledger in state/ledger.db.
	LedgerURL string `toml:"ledger_url"`
	// Worker names this process in claims and logs (default host/pid).
	Worker string `toml:"worker"`
	// StaffTokenFile holds the bearer token of the staff API.
	StaffTokenFile string `toml:"staff_token_file"`
	// Lang is the default notification language: fi, sv or en.
	Lang string `toml:"lang"`
	// Handlers are notified of every journal's bundles (journals add theirs).
	Handlers []string `toml:"handlers"`

	Workers int      `toml:"workers"`
	Poll    Duration `toml:"poll"`
	// Lease is how long a worker's claim on a bundle lasts without being
	// renewed: after a worker dies, another takes its bundle this much later.
	Lease Duration `toml:"lease"`
	// KeepPayload keeps accepted payloads in the inbox until retention
	// deletes the staged data (default: removed once the receipt is written).
	KeepPayload bool `toml:"keep_payload"`
	// RetentionDays after a handler marks a bundle delivered, its staged
	// data is deleted; RejectedRetentionDays for rejected bundles' files.
	RetentionDays         int `toml:"retention_days"`
	RejectedRetentionDays int `toml:"rejected_retention_days"`
	// OrphanAfter: a payload without its manifest for this long is an
	// abandoned upload, rejected with E_MANIFEST_MISSING.
	OrphanAfter Duration `toml:"orphan_after"`

	// Inbox, when its URL is set, is where the journal folders are
	// watched instead of DIR/inbox: a Nextcloud/WebDAV folder or an S3
	// prefix where uploads already land.
	Inbox InboxConfig `toml:"inbox"`

	// Staging, when its URL is set, is where staged bundles go instead of
	// DIR/staging: an S3 prefix (or any store siirto upload takes), each
	// bundle packed again and encrypted to the handlers' keys.
	Staging StagingConfig `toml:"staging"`

	Limits  LimitsConfig  `toml:"limits"`
	Ban     BanConfig     `toml:"ban"`
	SMTP    SMTPConfig    `toml:"smtp"`
	Webhook WebhookConfig `toml:"webhook"`

	dir string // the data folder, absolute
}

// InboxConfig is a remote inbox: a URL as siirto upload takes it
// (https://host/remote.php/dav/files/USER/ or s3://bucket/prefix/).
type InboxConfig struct {
	URL          string `toml:"url"`
	User         string `toml:"user"`          // WebDAV
	PasswordFile string `toml:"password_file"` // WebDAV
	Endpoint     string `toml:"endpoint"`      // S3-compatible server; keys from the AWS chain
	Region       string `toml:"region"`
	Profile      string `toml:"profile"`
	// Events wake the pipeline between listings: "webhook" serves POST
	// /events/s3 for S3 event notifications, "minio" listens with MinIO's
	// bucket-notification API. The listing every poll interval always runs.
	Events []string `toml:"events"`
	// EventsTokenFile holds a token that event senders must present as
	// "Authorization: Bearer TOKEN" (MinIO's webhook auth_token).
	EventsTokenFile string `toml:"events_token_file"`
}

// StagingConfig is a staging store: verified bundles are written there as
// siirto bundles encrypted to Recipients, so that they are encrypted at
// rest, and the plaintext extracted under DIR/staging is removed.
type StagingConfig struct {
	URL      string `toml:"url"`
	Endpoint string `toml:"endpoint"` // S3-compatible server; keys from the AWS chain
	Region   string `toml:"region"`
	Profile  string `toml:"profile"`
	// Recipients are the handlers' Crypt4GH public key files.
	Recipients []string `toml:"recipients"`
}

// has reports whether events from source are configured.
func (c InboxConfig) has(source string) bool { return slices.Contains(c.Events, source) }

// LimitsConfig bounds what one bundle may expand to.
type LimitsConfig struct {
	MaxEntries int   `toml:"max_entries"`
	MaxSize    int64 `toml:"max_size"`
	MaxRatio   int64 `toml:"max_ratio"`
}

// BanConfig tunes the brute-force defender.
type BanConfig struct {
	MaxFailures int      `toml:"max_failures"`
	Window      Duration `toml:"window"`
	For         Duration `toml:"for"`
}

// SMTPConfig is the mail server for notifications; no Addr, no mail.
type SMTPConfig struct {
	Addr         string   `toml:"addr"`
	From         string   `toml:"from"`
	Username     string   `toml:"username"`
	PasswordFile string   `toml:"password_file"`
	TLS          string   `toml:"tls"` // "", starttls, tls, none (loopback only)
	Timeout      Duration `toml:"timeout"`
}

// WebhookConfig is the HTTP endpoint told of every bundle; no URL, none.
type WebhookConfig struct {
	URL        string   `toml:"url"`
	SecretFile string   `toml:"secret_file"`
	Timeout    Duration `toml:"timeout"`
}

// Duration is a time.Duration written as "2s", "15m" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	d.Duration = v
	return err
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Defaults returns the configuration of a fresh data folder.
func Defaults() Config {
	return Config{
		Name:                  "siirto-gateway",
		Listen:                "127.0.0.1:8480",
		KeyPassphraseFile:     "secrets/key-passphrase",
		StaffTokenFile:        "secrets/staff-token",
		Lang:                  "fi",
		Workers:               2,
		Poll:                  Duration{2 * time.Second},
		Lease:                 Duration{10 * time.Minute},
		RetentionDays:         90,
		RejectedRetentionDays: 30,
		OrphanAfter:           Duration{24 * time.Hour},
		Ban:                   BanConfig{MaxFailures: 10, Window: Duration{10 * time.Minute}, For: Duration{15 * time.Minute}},
		SMTP:                  SMTPConfig{Timeout: Duration{30 * time.Second}},
		Webhook:               WebhookConfig{Timeout: Duration{30 * time.Second}},
	}
}

// LoadConfig reads the config file at path over the defaults, then the
// environment (env returns a variable's value, or "" when unset).
func LoadConfig(path string, env func(string) string) (Config, error) {
	c := Defaults()
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return c, fmt.Errorf("%s: unknown setting %q (see docs/gateway.md)", path, und[0].String())
	}
	if err := applyEnv(&c, "SIIRTO_GATEWAY", env); err != nil {
		return c, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return c, err
	}
	c.dir = filepath.Dir(abs)
	if c.Data != "" {
		c.dir = c.path(c.Data)
	}
	return c, c.check()
}

// applyEnv sets every field whose variable PREFIX_<TOML KEY> is set.
func applyEnv(v any, prefix string, env func(string) string) error {
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		tag := f.Tag.Get("toml")
		if tag == "" || !f.IsExported() {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		fv := rv.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[Duration]() {
			if err := applyEnv(fv.Addr().Interface(), name, env); err != nil {
				return err
			}
			continue
		}
		val := env(name)
		if val == "" {
			continue
		}
		var err error
		switch p := fv.Addr().Interface().(type) {
		case *string:
			*p = val
		case *int:
			*p, err = strconv.Atoi(val)
		case *int64:
			*p, err = strconv.ParseInt(val, 10, 64)
		case *bool:
			*p, err = strconv.ParseBool(val)
		case *Duration:
			err = p.UnmarshalText([]byte(val))
		case *[]string:
			*p = strings.Split(val, ",")
		}
		if err != nil {
			return fmt.Errorf("%s=%q: %w", name, val, err)
		}
	}
	return nil
}

func (c Config) check() error {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", c.Listen, err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls_cert and tls_key go together")
	}
	if c.TLSCert == "" && !clients.IsLoopback(host) {
		return fmt.Errorf("listen %q is not a loopback address: plain HTTP would send passwords in clear; set tls_cert and tls_key", c.Listen)
	}
	if c.RetentionDays < 0 || c.RejectedRetentionDays < 0 {
		return errors.New("retention_days and rejected_retention_days are days to keep data, 0 for ever; not negative")
	}
	for _, e := range c.Inbox.Events {
		switch {
		case e == EventsWebhook:
		case e == EventsMinIO && strings.HasPrefix(c.Inbox.URL, "s3://"):
		case e == EventsMinIO:
			return errors.New(`inbox.events "minio" needs an S3 inbox: inbox.url = "s3://bucket/prefix"`)
		default:
			return fmt.Errorf("inbox.events %q: use %q or %q", e, EventsWebhook, EventsMinIO)
		}
	}
	if c.Staging.URL != "" && len(c.Staging.Recipients) == 0 {
		return errors.New("staging.url needs staging.recipients: the handlers' Crypt4GH public keys, which staged bundles are encrypted to")
	}
	switch c.Lang {
	case "fi", "sv", "en":
	default:
		return fmt.Errorf("lang %q: use fi, sv or en", c.Lang)
	}
	return nil
}

// Dir is the data folder.
func (c Config) Dir() string { return c.dir }

// path resolves p against the data folder.
func (c Config) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// The data folder's layout.
func (c Config) inboxDir() string    { return filepath.Join(c.dir, "inbox") }
func (c Config) stagingDir() string  { return filepath.Join(c.dir, "staging") }
func (c Config) rejectedDir() string { return filepath.Join(c.dir, "rejected") }
func (c Config) uploadsDir() string  { return filepath.Join(c.dir, "uploads") }
func (c Config) stateDir() string    { return filepath.Join(c.dir, "state") }
func (c Config) auditPath() string   { return filepath.Join(c.dir, "audit", "audit.log") }
func (c Config) keysDir() string     { return filepath.Join(c.dir, "keys") }

// auditHeadKey is the ledger's meta key for the head of this data
// folder's audit log: one per folder (host and path), because workers
// sharing a PostgreSQL ledger each keep their own log, and one key took
// the highest head of any worker, so every other worker's log looked cut
// short. It does not depend on the log, so a log cut to nothing is still
// found out. A moved folder starts a new key at its next audit entry.
func (c Config) auditHeadKey() string {
	host, _ := os.Hostname()
	dir, err := filepath.Abs(c.dir)
	if err != nil {
		dir = c.dir
	}
	return "audit_head/" + host + ":" + dir
}

// readSecret reads a one-line secret file, refusing one others can read.
func readSecret(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s can be read by others (mode %v): chmod 600 it", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func nowUTC() time.Time { return time.Now().UTC() }
