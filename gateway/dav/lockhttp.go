package dav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/webdav"
)

// serveLock answers LOCK: a new lock (creating an empty file when nothing
// is at the path yet, as RFC 4918 section 7.3 says), or, with an empty
// body, a refresh of the lock named in the If header.
func (s *Server) serveLock(w http.ResponseWriter, r *http.Request, rq *request, t target) {
	body, ok := readXMLBody(w, r)
	if !ok {
		return
	}
	timeout := lockTimeout(r.Header.Get("Timeout"))
	href := s.href(rq, t.name())
	if len(bytes.TrimSpace(body)) == 0 {
		lists, ok := parseIf(r.Header.Get("If"))
		token := ""
		for _, l := range lists {
			for _, c := range l.conds {
				if token == "" && c.Token != "" && !c.Not {
					token = c.Token
				}
			}
		}
		if !ok || token == "" {
			http.Error(w, "a lock refresh needs the lock token in an If header", http.StatusBadRequest)
			return
		}
		l, err := s.locks.refresh(token, t.name(), timeout)
		if err != nil {
			http.Error(w, "no such lock on this resource", http.StatusPreconditionFailed)
			return
		}
		writeLock(w, http.StatusOK, l, s.href(rq, l.root))
		return
	}
	if !s.allowed(w, rq, t) {
		return
	}
	var li lockInfo
	if err := xml.Unmarshal(body, &li); err != nil {
		http.Error(w, "the lock request is not valid XML", http.StatusBadRequest)
		return
	}
	if (li.Exclusive == nil) == (li.Shared == nil) || li.Write == nil {
		http.Error(w, "a lock is a write lock, either exclusive or shared", http.StatusBadRequest)
		return
	}
	zeroDepth := false
	switch r.Header.Get("Depth") {
	case "", "infinity":
	case "0":
		zeroDepth = true
	default:
		http.Error(w, "a LOCK's Depth is 0 or infinity", http.StatusBadRequest)
		return
	}
	l, err := s.locks.create(t.name(), li.Shared != nil, zeroDepth, li.Owner.xml, timeout)
	switch {
	case errors.Is(err, webdav.ErrLocked):
		http.Error(w, "the resource is locked", http.StatusLocked)
		return
	case err != nil:
		s.log.Warn("dav: lock refused", "err", err)
		http.Error(w, "the server holds too many locks; try again later", http.StatusServiceUnavailable)
		return
	}
	status := http.StatusOK
	if _, err := os.Stat(t.disk(s.cfg.Root)); errors.Is(err, os.ErrNotExist) {
		if err := s.createEmpty(rq, t); err != nil {
			_ = s.locks.Unlock(time.Time{}, l.token)
			s.fileError(w, "creating a locked file", err)
			return
		}
		status = http.StatusCreated
	}
	w.Header().Set("Lock-Token", "<"+l.token+">")
	writeLock(w, status, l, href)
}

// createEmpty creates an empty file at t, unless something got there
// first.
func (s *Server) createEmpty(rq *request, t target) error {
	tmp, err := os.CreateTemp(filepath.Dir(t.disk(s.cfg.Root)), hiddenPrefix+"put-*")
	if err != nil {
		return err
	}
	tmp.Close()
	if _, _, err := s.commit(rq, t, tmp.Name(), false); err != nil {
		os.Remove(tmp.Name())
		if !errors.Is(err, errExists) {
			return err
		}
	}
	return nil
}

// serveUnlock answers UNLOCK.
func (s *Server) serveUnlock(w http.ResponseWriter, r *http.Request, t target) {
	token := r.Header.Get("Lock-Token")
	if len(token) < 2 || token[0] != '<' || token[len(token)-1] != '>' {
		http.Error(w, "UNLOCK needs a Lock-Token header", http.StatusBadRequest)
		return
	}
	if err := s.locks.unlock(token[1:len(token)-1], t.name()); err != nil {
		http.Error(w, "no such lock on this resource", http.StatusConflict)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// confirm checks a request that changes name against its If header and
// the locks on name, as x/net/webdav does for the methods it serves:
// without an If header, name must not be locked (a lock taken for the
// request's length makes sure); with one, one of its lists must hold and
// a lock on name must be among its tokens. It returns the release, or
// the status and text to answer with.
func (s *Server) confirm(r *http.Request, rq *request, name string) (func(), int, string) {
	hdr := r.Header.Get("If")
	if hdr == "" {
		token, err := s.locks.Create(time.Time{}, webdav.LockDetails{Root: name, Duration: -1, ZeroDepth: true})
		switch {
		case errors.Is(err, webdav.ErrLocked):
			return nil, http.StatusLocked, "the resource is locked"
		case err != nil:
			return nil, http.StatusServiceUnavailable, "the server holds too many locks; try again later"
		}
		return func() { _ = s.locks.Unlock(time.Time{}, token) }, 0, ""
	}
	lists, ok := parseIf(hdr)
	if !ok {
		return nil, http.StatusBadRequest, "the If header is not valid"
	}
	var tokens []string
	held := false
	for _, l := range lists {
		tokens = append(tokens, positiveTokens(l.conds)...)
		res := name
		if l.tag != "" {
			if res, ok = s.tagName(r, rq, l.tag); !ok {
				continue
			}
		}
		held = held || s.locks.eval(res, l.conds)
	}
	if !held {
		return nil, http.StatusPreconditionFailed, "the conditions of the If header do not hold"
	}
	if !s.locks.allowed(name, tokens) {
		return nil, http.StatusLocked, "the resource is locked"
	}
	return func() {}, 0, ""
}

// tagName maps an If header's resource tag to a lock-store name, if it
// names a path in the user's files tree on this server.
func (s *Server) tagName(r *http.Request, rq *request, tag string) (string, bool) {
	u, err := url.Parse(tag)
	if err != nil || u.Host != "" && u.Host != r.Host {
		return "", false
	}
	own := filesPrefix + rq.user
	rest, ok := strings.CutPrefix(u.Path, own)
	if !ok || rest != "" && rest[0] != '/' {
		return "", false
	}
	return cleanName(rest), true
}

// href is the URL path of a lock-store name for rq's user.
func (s *Server) href(rq *request, name string) string {
	return (&url.URL{Path: path.Join(filesPrefix+rq.user, name)}).EscapedPath()
}

// lockTimeout reads the Timeout header ("Second-600, Infinite"): the
// first value understood, at most maxLockTimeout, which is also the
// default.
func lockTimeout(h string) time.Duration {
	for _, v := range strings.Split(h, ",") {
		v = strings.TrimSpace(v)
		if n, ok := strings.CutPrefix(v, "Second-"); ok {
			if sec, err := strconv.ParseInt(n, 10, 64); err == nil && sec >= 0 {
				return min(time.Duration(min(sec, 1<<32))*time.Second, maxLockTimeout)
			}
		}
		if v == "Infinite" {
			return maxLockTimeout
		}
	}
	return maxLockTimeout
}

// lockInfo is a LOCK request's body.
type lockInfo struct {
	XMLName   xml.Name  `xml:"DAV: lockinfo"`
	Exclusive *struct{} `xml:"DAV: lockscope>exclusive"`
	Shared    *struct{} `xml:"DAV: lockscope>shared"`
	Write     *struct{} `xml:"DAV: locktype>write"`
	Owner     ownerXML  `xml:"DAV: owner"`
}

// ownerXML is the content of a lock's <owner>, re-encoded so that it
// declares its own namespaces and can be echoed in any response.
type ownerXML struct{ xml string }

func (o *ownerXML) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			attrs := t.Attr[:0]
			for _, a := range t.Attr {
				if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
					attrs = append(attrs, a)
				}
			}
			t.Attr = attrs
			tok = t
		case xml.EndElement:
			if depth == 0 {
				if err := enc.Flush(); err != nil {
					return err
				}
				o.xml = buf.String()
				return nil
			}
			depth--
		case xml.CharData:
		default:
			continue // comments, processing instructions
		}
		if err := enc.EncodeToken(tok); err != nil {
			return err
		}
	}
}

// writeLock answers with a lock's lockdiscovery property.
func writeLock(w http.ResponseWriter, status int, l davLock, rootHref string) {
	scope, depth := "exclusive", "infinity"
	if l.shared {
		scope = "shared"
	}
	if l.zeroDepth {
		depth = "0"
	}
	owner := ""
	if l.owner != "" {
		owner = "<D:owner>" + l.owner + "</D:owner>"
	}
	timeout := "Infinite"
	if l.timeout >= 0 {
		timeout = "Second-" + strconv.FormatInt(int64(l.timeout/time.Second), 10)
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+
		`<D:prop xmlns:D="DAV:"><D:lockdiscovery><D:activelock>`+
		`<D:locktype><D:write/></D:locktype><D:lockscope><D:%s/></D:lockscope><D:depth>%s</D:depth>%s`+
		`<D:timeout>%s</D:timeout><D:locktoken><D:href>%s</D:href></D:locktoken>`+
		`<D:lockroot><D:href>%s</D:href></D:lockroot></D:activelock></D:lockdiscovery></D:prop>`,
		scope, depth, owner, timeout, escapeXML(l.token), escapeXML(rootHref))
}

func escapeXML(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
