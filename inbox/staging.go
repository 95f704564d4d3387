package inbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/siirto/siirto/encrypt"
)

// workDir holds the plaintext zips being checked, inside staging so that
// plaintext never lands anywhere else. Most bundles are extracted straight
// from the decrypted stream and put nothing here; verify makes a zip here
// only for the few that must be read as a file, and removes its name at
// once (not on Windows), so a crash leaves nothing; cleanStaging covers
// the rest.
func (p *Pipeline) workDir() string { return filepath.Join(p.cfg.Staging, ".work") }

// makeWorkDir creates workDir (0700) and returns it.
func (p *Pipeline) makeWorkDir() (string, error) {
	return p.workDir(), os.MkdirAll(p.workDir(), 0o700)
}

// cleanStaging removes what a crash can leave in staging: plaintext zips
// in .work, half-extracted hidden folders, and trees being deleted.
func (p *Pipeline) cleanStaging() error {
	if err := os.RemoveAll(p.workDir()); err != nil {
		return fmt.Errorf("inbox: cleaning staging: %w", err)
	}
	if err := os.MkdirAll(p.cfg.Staging, 0o700); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	folders, err := os.ReadDir(p.cfg.Staging)
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	for _, f := range folders {
		path := filepath.Join(p.cfg.Staging, f.Name())
		if strings.HasPrefix(f.Name(), ".trash-") {
			if err := os.RemoveAll(path); err != nil {
				return fmt.Errorf("inbox: cleaning staging: %w", err)
			}
			continue
		}
		if !f.IsDir() || strings.HasPrefix(f.Name(), ".") {
			continue
		}
		inner, err := os.ReadDir(path)
		if err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
		for _, e := range inner {
			// encrypt.Unpack extracts into ".<id>.part-*" beside the target.
			name := e.Name()
			if strings.HasPrefix(name, ".trash-") || (strings.HasPrefix(name, ".") && strings.Contains(name, ".part-")) {
				p.log.Info("removing a half-extracted folder left by a crash", "path", filepath.Join(path, e.Name()))
				if err := os.RemoveAll(filepath.Join(path, e.Name())); err != nil {
					return fmt.Errorf("inbox: cleaning staging: %w", err)
				}
			}
		}
	}
	return nil
}

// removeTree deletes a folder so that a crash midway leaves no partial
// tree under its name: it is renamed to a hidden trash name first.
func removeTree(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	trash := filepath.Join(filepath.Dir(dir), ".trash-"+filepath.Base(dir))
	if err := os.RemoveAll(trash); err != nil {
		return err
	}
	if err := os.Rename(dir, trash); err != nil {
		return err
	}
	if err := encrypt.SyncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	return os.RemoveAll(trash)
}
