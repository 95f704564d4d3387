package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// Scan looks through every journal folder for manifests, the completion
// marker, and records each new bundle as detected. Hidden names (temp
// uploads), receipts and subfolders are not bundles; a payload without
// its manifest is not a bundle yet. A manifest seen before with the same
// size and time is not read again, so a rescan of a remote inbox costs
// one listing per journal folder.
func (p *Pipeline) Scan(ctx context.Context) error {
	folders, err := p.store.List(ctx, "")
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	// Manifests seen in this scan; the ones gone since are forgotten, so
	// the cache stays as big as the inbox.
	next := map[string]seenFile{}
	for _, f := range folders {
		if !f.Dir || strings.HasPrefix(f.Name, ".") {
			continue
		}
		if err := p.scanFolder(ctx, f.Name, next); err != nil {
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
	entries, err := p.store.List(ctx, folder)
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	names := map[string]clients.Info{}
	for _, e := range entries {
		names[e.Name] = e
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e.Dir || strings.HasPrefix(e.Name, ".") {
			continue
		}
		if strings.HasSuffix(e.Name, ".c4gh") {
			if _, ok := names[encrypt.ManifestName(strings.TrimSuffix(e.Name, ".c4gh"))]; !ok {
				if err := p.orphan(ctx, folder, e); err != nil {
					return err
				}
			}
			continue
		}
		// An empty manifest is a placeholder: Windows Explorer and Finder
		// create the file empty, then PUT its content.
		if !IsManifest(e.Name) || e.Size == 0 {
			continue
		}
		key := storePath(folder, e.Name)
		p.mu.Lock()
		s, ok := p.seen[key]
		p.mu.Unlock()
		if ok && s.size == e.Size && s.mtime.Equal(e.ModTime) {
			next[key] = s
			continue
		}
		_, id, err := p.readManifest(ctx, folder, e.Name)
		if err != nil {
			continue // removed meanwhile, or unreadable: the next scan tries again
		}
		name := strings.TrimSuffix(e.Name, ".json")
		payloadSize := names[encrypt.PayloadName(name)].Size
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
		next[key] = seenFile{size: e.Size, mtime: e.ModTime}
	}
	return nil
}

// orphan handles a payload whose manifest has not come for OrphanAfter:
// an upload abandoned halfway. It is rejected (E_MANIFEST_MISSING) with a
// receipt, so the uploader learns of it, and moved out of the inbox. Its
// id is made from its place, size and time, as there is no manifest.
func (p *Pipeline) orphan(ctx context.Context, folder string, e clients.Info) error {
	if e.ModTime.IsZero() || p.cfg.Now().Sub(e.ModTime) < p.cfg.OrphanAfter {
		return nil
	}
	name := strings.TrimSuffix(e.Name, ".c4gh")
	sum := sha256.Sum256(fmt.Appendf(nil, "siirto-orphan\x00%s\x00%s\x00%d\x00%d", folder, name, e.Size, e.ModTime.UnixNano()))
	r := Record{ID: hex.EncodeToString(sum[:]), Folder: folder, Name: name, PayloadSize: e.Size, DetectedAt: p.cfg.Now().UTC()}
	added, err := p.cfg.Ledger.Detect(ctx, r)
	if err != nil || !added {
		return err
	}
	if err := p.audit(Event{Action: "detected", Folder: folder, Bundle: r.ID, Fields: map[string]string{"name": name, "orphan": "true"}}); err != nil {
		return err
	}
	r.State = StateDetected
	return p.reject(ctx, r, verify.CodeManifestMissing,
		verify.Errorf(verify.CodeManifestMissing, "%s has had no manifest for %v", e.Name, p.cfg.OrphanAfter.Round(time.Minute)))
}
