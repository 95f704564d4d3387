package dav

import (
	"encoding/xml"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/net/webdav"
)

// propStore keeps WebDAV dead properties (those clients set with
// PROPPATCH) in memory, by resource name ("/<folder>/<path>"). The
// gateway gives them no meaning: they exist for WebDAV clients that
// expect them, and are lost when the gateway restarts. Memory is bounded
// by maxPropBytes in all; a PROPPATCH beyond it fails with 507.
type propStore struct {
	mu    sync.Mutex
	props map[string]map[xml.Name]webdav.Property
	bytes int
}

const maxPropBytes = 16 << 20

func newPropStore() *propStore {
	return &propStore{props: map[string]map[xml.Name]webdav.Property{}}
}

func propSize(p webdav.Property) int {
	return len(p.XMLName.Space) + len(p.XMLName.Local) + len(p.Lang) + len(p.InnerXML) + 64
}

// get returns a copy of a resource's properties.
func (s *propStore) get(name string) map[xml.Name]webdav.Property {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.props[name]
	if len(m) == 0 {
		return nil
	}
	out := make(map[xml.Name]webdav.Property, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// patch applies all patches or, when they would exceed the memory bound,
// none.
func (s *propStore) patch(name string, patches []webdav.Proppatch) []webdav.Propstat {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.props[name]
	grow := 0
	for _, p := range patches {
		for _, prop := range p.Props {
			if old, ok := m[prop.XMLName]; ok {
				grow -= propSize(old)
			}
			if !p.Remove {
				grow += propSize(prop)
			}
		}
	}
	if s.bytes+grow > maxPropBytes {
		return propstats(patches, http.StatusInsufficientStorage)
	}
	if m == nil {
		m = map[xml.Name]webdav.Property{}
		s.props[name] = m
	}
	for _, p := range patches {
		for _, prop := range p.Props {
			if old, ok := m[prop.XMLName]; ok {
				s.bytes -= propSize(old)
				delete(m, prop.XMLName)
			}
			if !p.Remove {
				m[prop.XMLName] = prop
				s.bytes += propSize(prop)
			}
		}
	}
	if len(m) == 0 {
		delete(s.props, name)
	}
	return propstats(patches, http.StatusOK)
}

// move gives the properties of name and everything below it to the new
// name, replacing what was there.
func (s *propStore) move(from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeTreeLocked(to)
	for name, m := range s.props {
		if rest, ok := under(name, from); ok {
			delete(s.props, name)
			s.props[to+rest] = m
		}
	}
}

// removeTree forgets the properties of name and everything below it.
func (s *propStore) removeTree(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeTreeLocked(name)
}

func (s *propStore) removeTreeLocked(name string) {
	for n, m := range s.props {
		if _, ok := under(n, name); ok {
			for _, p := range m {
				s.bytes -= propSize(p)
			}
			delete(s.props, n)
		}
	}
}

// under reports whether name is root or below it, and the rest of name
// after root.
func under(name, root string) (string, bool) {
	if name == root {
		return "", true
	}
	if rest, ok := strings.CutPrefix(name, root); ok && strings.HasPrefix(rest, "/") {
		return rest, true
	}
	return "", false
}

// propstats is one Propstat with the given status for every property the
// patches name.
func propstats(patches []webdav.Proppatch, status int) []webdav.Propstat {
	ps := webdav.Propstat{Status: status}
	for _, p := range patches {
		for _, prop := range p.Props {
			ps.Props = append(ps.Props, webdav.Property{XMLName: prop.XMLName})
		}
	}
	return []webdav.Propstat{ps}
}
