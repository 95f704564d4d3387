package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/siirto/siirto/verify"
	"github.com/urfave/cli/v2"
)

// config is the optional configuration file: defaults for flags, and named
// upload targets so that scripts say --to findata instead of a URL. Flags
// and environment variables win over it.
//
//	recipients = ["/etc/siirto/csc.pub"]
//	lang = "fi"
//
//	[targets.findata]
//	url = "https://siirto.example.fi/remote.php/dav/files/alice/THL_1234_14.02.00_2023/"
//	user = "alice"
//	password_file = "/home/alice/.config/siirto/findata.pass"
type config struct {
	Recipients []string          `toml:"recipients"`
	Journal    string            `toml:"journal"`
	Out        string            `toml:"out"`
	Lang       string            `toml:"lang"`
	Targets    map[string]target `toml:"targets"`
	path       string
}

// target is a named place to upload to.
type target struct {
	URL          string `toml:"url"`
	User         string `toml:"user"`
	PasswordFile string `toml:"password_file"`
	// S3 targets: an S3-compatible server's endpoint, its region, and a
	// profile of the shared AWS configuration holding the keys.
	Endpoint string `toml:"endpoint"`
	Region   string `toml:"region"`
	Profile  string `toml:"profile"`
	// ReceiptKey is the gateway's receipt public key, given out of band.
	ReceiptKey string `toml:"receipt_key"`
}

// configPath is --config, SIIRTO_CONFIG, or the user's config folder
// (~/.config/siirto/config.toml on Linux, %AppData%\siirto on Windows).
func configPath(flag string) (path string, explicit bool) {
	if flag != "" {
		return flag, true
	}
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "siirto", "config.toml"), false
	}
	return "", false
}

// loadConfig reads the configuration file. A missing default file is no
// error; a missing file the user named is.
func loadConfig(flag string) (*config, error) {
	path, explicit := configPath(flag)
	cfg := &config{path: path}
	if path == "" {
		return cfg, nil
	}
	md, err := toml.DecodeFile(path, cfg)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return cfg, nil
	}
	if err != nil {
		return nil, verify.Errorf(verify.CodeUsage, "the configuration file %s: %v", path, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = k.String()
		}
		return nil, verify.Errorf(verify.CodeUsage, "the configuration file %s has unknown settings: %s", path, strings.Join(names, ", "))
	}
	return cfg, nil
}

// target resolves --to: a URL as it is, or a target named in the file.
func (c *config) target(to string) (target, error) {
	if strings.Contains(to, "://") {
		return target{URL: to}, nil
	}
	t, ok := c.Targets[to]
	if !ok || t.URL == "" {
		names := make([]string, 0, len(c.Targets))
		for n := range c.Targets {
			names = append(names, n)
		}
		sort.Strings(names)
		known := "none"
		if len(names) > 0 {
			known = strings.Join(names, ", ")
		}
		return target{}, verify.Errorf(verify.CodeTargetInvalid, "%q is neither a URL nor a target in %s (targets there: %s)", to, c.path, known)
	}
	return t, nil
}

// defaults fills flags the user did not set, from the file: flags and
// their environment variables win.
func (c *config) defaults(ctx *cli.Context) error {
	set := func(name, value string) error {
		if value == "" || ctx.IsSet(name) || !hasFlag(ctx, name) {
			return nil
		}
		return ctx.Set(name, value)
	}
	if !ctx.IsSet("recipient") && hasFlag(ctx, "recipient") {
		for _, r := range c.Recipients {
			if err := ctx.Set("recipient", r); err != nil {
				return err
			}
		}
	}
	if err := set("journal", c.Journal); err != nil {
		return err
	}
	return set("out", c.Out)
}

func hasFlag(ctx *cli.Context, name string) bool {
	for _, f := range ctx.Command.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}
