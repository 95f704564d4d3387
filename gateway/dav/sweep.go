package dav

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sweep removes chunked uploads untouched for ChunkExpiry and temporary
// files of uploads cut short by a crash (older than ChunkExpiry too), and
// forgets expired bans, failed logins and locks. New starts nothing in
// the background: the gateway's serve loop calls Sweep periodically, say
// hourly, with the current time. A file's age is its modification time,
// which every arriving chunk or byte renews.
func (s *Server) Sweep(now time.Time) error {
	s.guard.prune(now)
	s.locks.prune()
	before := now.Add(-s.cfg.ChunkExpiry)
	var errs []error
	users, err := os.ReadDir(s.cfg.Uploads)
	if err != nil {
		errs = append(errs, err)
	}
	for _, u := range users {
		if !u.IsDir() {
			continue
		}
		dir := filepath.Join(s.cfg.Uploads, u.Name())
		uploads, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, up := range uploads {
			info, err := up.Info()
			if err != nil || !info.ModTime().Before(before) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(dir, up.Name())); err != nil {
				errs = append(errs, err)
				continue
			}
			s.log.Info("dav: expired upload removed", "user", u.Name(), "upload", up.Name())
		}
	}
	err = filepath.WalkDir(s.cfg.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), hiddenPrefix+"put-") {
			return nil // an unreadable folder is skipped, not fatal
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(before) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
