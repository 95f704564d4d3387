package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// Scan looks through every journal folder for manifests, the completion
// marker, and records each new bundle as detected. Hidden names (temp
// uploads), receipts and subfolders are not bundles; a payload without
// its manifest is not a bundle yet.
func (p *Pipeline) Scan(ctx context.Context) error {
	folders, err := os.ReadDir(p.cfg.Inbox)
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	// Manifests seen in this scan; the ones gone since are forgotten, so
	// the cache stays as big as the inbox.
	next := map[string]seenFile{}
	for _, f := range folders {
		if !f.IsDir() || strings.HasPrefix(f.Name(), ".") {
			continue
		}
		if err := p.scanFolder(ctx, f.Name(), next); err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.seen = next
	p.mu.Unlock()
	return nil
}

// IsManifest tells a bundle's manifest from the other files of a journal
// folder: receipts, journal_number.txt, receipt-key.pub, hidden temp names.
func IsManifest(name string) bool {
	return strings.HasSuffix(name, ".json") && !strings.HasSuffix(name, verify.ReceiptName("")) &&
		!strings.HasPrefix(name, ".") && len(name) > len(".json")
}

func (p *Pipeline) scanFolder(ctx context.Context, folder string, next map[string]seenFile) error {
	dir := p.folderPath(folder)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".c4gh") && !strings.HasPrefix(e.Name(), ".") &&
			!names[encrypt.ManifestName(strings.TrimSuffix(e.Name(), ".c4gh"))] {
			if err := p.orphan(ctx, folder, e); err != nil {
				return err
			}
			continue
		}
		if !e.Type().IsRegular() || !IsManifest(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil || info.Size() == 0 {
			// Removed meanwhile, or an empty placeholder: Windows Explorer
			// and Finder create the file empty, then PUT its content.
			continue
		}
		p.mu.Lock()
		s, ok := p.seen[path]
		p.mu.Unlock()
		if ok && s.size == info.Size() && s.mtime.Equal(info.ModTime()) {
			next[path] = s
			continue
		}
		id, err := manifestID(path)
		if err != nil {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ".json")
		var payloadSize int64
		if pi, err := os.Stat(filepath.Join(dir, encrypt.PayloadName(name))); err == nil {
			payloadSize = pi.Size()
		}
		now := p.cfg.Now().UTC()
		added, err := p.cfg.Ledger.Detect(ctx, Record{ID: id, Folder: folder, Name: name, PayloadSize: payloadSize, DetectedAt: now})
		if err != nil {
			return err
		}
		if added {
			p.log.Info("bundle detected", "bundle", id, "folder", folder, "name", name)
			if err := p.audit(Event{Action: "detected", Folder: folder, Bundle: id, Fields: map[string]string{"name": name, "payload_size": fmt.Sprint(payloadSize)}}); err != nil {
				return err
			}
		} else if r, err := p.cfg.Ledger.Get(ctx, id); err == nil && (r.Folder != folder || r.Name != name) {
			// The same manifest bytes in another place: a copy of a bundle
			// already taken. It is left alone, and said so once.
			p.log.Warn("a copy of a known bundle was ignored", "bundle", id, "folder", folder, "name", name)
			_ = p.audit(Event{Action: "duplicate_ignored", Folder: folder, Bundle: id, Fields: map[string]string{"name": name}})
		}
		next[path] = seenFile{size: info.Size(), mtime: info.ModTime()}
	}
	return nil
}

// manifestID is the bundle id: the SHA-256 of the manifest file as received.
func manifestID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readManifest reads a manifest, at most one byte more than a manifest
// may have (so an oversized one is refused by the parser, not read whole).
func readManifest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, verify.MaxManifest+1))
}

// orphan handles a payload whose manifest has not come for OrphanAfter:
// an upload abandoned halfway. It is rejected (E_MANIFEST_MISSING) with a
// receipt, so the uploader learns of it, and moved out of the inbox. Its
// id is made from its place, size and time, as there is no manifest.
func (p *Pipeline) orphan(ctx context.Context, folder string, e os.DirEntry) error {
	info, err := e.Info()
	if err != nil || p.cfg.Now().Sub(info.ModTime()) < p.cfg.OrphanAfter {
		return nil
	}
	name := strings.TrimSuffix(e.Name(), ".c4gh")
	sum := sha256.Sum256(fmt.Appendf(nil, "siirto-orphan\x00%s\x00%s\x00%d\x00%d", folder, name, info.Size(), info.ModTime().UnixNano()))
	r := Record{ID: hex.EncodeToString(sum[:]), Folder: folder, Name: name, PayloadSize: info.Size(), DetectedAt: p.cfg.Now().UTC()}
	added, err := p.cfg.Ledger.Detect(ctx, r)
	if err != nil || !added {
		return err
	}
	if err := p.audit(Event{Action: "detected", Folder: folder, Bundle: r.ID, Fields: map[string]string{"name": name, "orphan": "true"}}); err != nil {
		return err
	}
	r.State = StateDetected
	return p.reject(ctx, r, verify.CodeManifestMissing,
		verify.Errorf(verify.CodeManifestMissing, "%s has had no manifest for %v", e.Name(), p.cfg.OrphanAfter.Round(time.Minute)))
}
