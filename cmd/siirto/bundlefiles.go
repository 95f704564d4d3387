package main

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// localBundle is a bundle in a local folder: NAME.json and NAME.c4gh.
type localBundle struct {
	dir, name string
}

func (b localBundle) manifestPath() string { return filepath.Join(b.dir, encrypt.ManifestName(b.name)) }
func (b localBundle) payloadPath() string  { return filepath.Join(b.dir, encrypt.PayloadName(b.name)) }

// findBundles resolves an argument: NAME.json, NAME.c4gh, NAME, or a
// folder, in which every bundle is found. A payload without a manifest is
// reported as E_MANIFEST_MISSING.
func findBundles(arg string) ([]localBundle, error) {
	dir, base := filepath.Split(filepath.Clean(arg))
	if dir == "" {
		dir = "."
	}
	// NAME names the bundle even when a source folder NAME sits beside it.
	if _, err := os.Stat(arg + ".json"); err == nil {
		return []localBundle{{dir: filepath.Clean(dir), name: base}}, nil
	}
	st, err := os.Stat(arg)
	if err == nil && st.IsDir() {
		entries, err := os.ReadDir(arg)
		if err != nil {
			return nil, err
		}
		names := map[string]bool{}
		for _, e := range entries {
			n := e.Name()
			if strings.HasPrefix(n, ".") || e.IsDir() {
				continue // hidden files are temporary uploads
			}
			if stem, ok := strings.CutSuffix(n, ".json"); ok && !strings.HasSuffix(stem, ".receipt") {
				names[stem] = true
			} else if stem, ok := strings.CutSuffix(n, ".c4gh"); ok {
				names[stem] = true
			}
		}
		var out []localBundle
		for n := range names {
			out = append(out, localBundle{dir: arg, name: n})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
		if len(out) == 0 {
			return nil, verify.Errorf(verify.CodeManifestMissing, "no bundle (.json and .c4gh) in %s", arg)
		}
		return out, nil
	}
	for _, ext := range []string{".json", ".c4gh"} {
		if stem, ok := strings.CutSuffix(base, ext); ok {
			return []localBundle{{dir: filepath.Clean(dir), name: stem}}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return nil, verify.Errorf(verify.CodeUsage, "%s is not a bundle: give NAME.json, NAME.c4gh or a folder", arg)
}

// open loads the bundle's manifest and opens its payload. A
// journal_number.txt beside it is checked against the manifest; with
// journalFolder, the folder's name is too (a local working folder is
// usually not named after the journal). The caller closes the payload.
func (b localBundle) open(journalFolder bool) (verify.Bundle, io.Closer, error) {
	vb := verify.Bundle{Name: b.name, PayloadSize: -1}
	m, err := os.Open(b.manifestPath())
	if os.IsNotExist(err) {
		return vb, nil, verify.Errorf(verify.CodeManifestMissing, "%s is missing", b.manifestPath())
	}
	if err != nil {
		return vb, nil, err
	}
	vb.Manifest, err = io.ReadAll(io.LimitReader(m, verify.MaxManifest+1))
	m.Close()
	if err != nil {
		return vb, nil, err
	}
	if jf, err := os.ReadFile(filepath.Join(b.dir, verify.JournalFile)); err == nil {
		vb.JournalFile = jf
	}
	if journalFolder {
		abs, err := filepath.Abs(b.dir)
		if err != nil {
			return vb, nil, err
		}
		vb.Folder = filepath.Base(abs)
	}
	p, err := encrypt.OpenPayload(b.payloadPath())
	if os.IsNotExist(err) {
		return vb, nopCloser{}, nil // verify reports E_PAYLOAD_MISSING
	}
	if err != nil {
		return vb, nil, err
	}
	st, err := p.Stat()
	if err != nil {
		p.Close()
		return vb, nil, err
	}
	vb.Payload, vb.PayloadSize = p, st.Size()
	return vb, p, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
