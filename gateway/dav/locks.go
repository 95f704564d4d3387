package dav

import (
	"crypto/rand"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/webdav"
)

// lockSystem keeps WebDAV locks in memory: exclusive and shared write
// locks, of depth 0 or infinity, with timeouts. It implements
// webdav.LockSystem for the methods x/net/webdav serves, and more for the
// LOCK, UNLOCK and PUT this package serves itself (x/net/webdav has no
// shared locks, and evaluates neither "Not" nor entity tags in If
// headers). Names are "/<folder>/<path>", the same for every user, so
// users sharing a journal folder see each other's locks. At most
// maxLocks exist at once; they expire after their timeout.
type lockSystem struct {
	etag func(name string) (string, bool)
	now  func() time.Time

	mu      sync.Mutex
	byToken map[string]*davLock
}

// davLock is one lock.
type davLock struct {
	token     string
	root      string
	shared    bool
	zeroDepth bool
	owner     string        // the client's <owner> XML, re-encoded
	timeout   time.Duration // as granted; negative: until released (x/net/webdav's locks for one request)
	expiry    time.Time
}

const (
	maxLocks = 10_000
	// maxLockTimeout caps a lock's life: clients refresh longer locks.
	maxLockTimeout = time.Hour
)

var errTooManyLocks = errors.New("too many locks")

func newLockSystem(etag func(string) (string, bool), now func() time.Time) *lockSystem {
	return &lockSystem{etag: etag, now: now, byToken: map[string]*davLock{}}
}

// covers reports whether the lock applies to name.
func (l *davLock) covers(name string) bool {
	return l.root == name || !l.zeroDepth && isAncestor(l.root, name)
}

// isAncestor reports whether a is a proper ancestor of b.
func isAncestor(a, b string) bool {
	return a == "/" && b != "/" || strings.HasPrefix(b, a+"/")
}

func cleanName(name string) string { return path.Clean("/" + name) }

// Confirm implements webdav.LockSystem: the conditions (one list of an If
// header) must hold for name0 (or name1, when name0 is empty), and every
// lock on name0 and name1 must be among the tokens they give. x/net/webdav
// passes its own clock; this one keeps to the server's.
func (ls *lockSystem) Confirm(_ time.Time, name0, name1 string, conds ...webdav.Condition) (func(), error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pruneLocked()
	res := name0
	if res == "" {
		res = name1
	}
	if !ls.evalLocked(cleanName(res), conds) {
		return nil, webdav.ErrConfirmationFailed
	}
	tokens := positiveTokens(conds)
	for _, n := range []string{name0, name1} {
		if n != "" && !ls.allowedLocked(cleanName(n), tokens) {
			return nil, webdav.ErrConfirmationFailed
		}
	}
	return func() {}, nil
}

// Create implements webdav.LockSystem: x/net/webdav's exclusive locks
// that last one request.
func (ls *lockSystem) Create(_ time.Time, d webdav.LockDetails) (string, error) {
	l, err := ls.create(d.Root, false, d.ZeroDepth, d.OwnerXML, d.Duration)
	return l.token, err
}

// Refresh implements webdav.LockSystem.
func (ls *lockSystem) Refresh(_ time.Time, token string, d time.Duration) (webdav.LockDetails, error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pruneLocked()
	l := ls.byToken[token]
	if l == nil {
		return webdav.LockDetails{}, webdav.ErrNoSuchLock
	}
	ls.setTimeoutLocked(l, d)
	return webdav.LockDetails{Root: l.root, Duration: l.timeout, OwnerXML: l.owner, ZeroDepth: l.zeroDepth}, nil
}

// Unlock implements webdav.LockSystem.
func (ls *lockSystem) Unlock(_ time.Time, token string) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.byToken[token] == nil {
		return webdav.ErrNoSuchLock
	}
	delete(ls.byToken, token)
	return nil
}

// create takes a new lock on root unless it conflicts with another: two
// locks conflict when one covers the other's root (or, for an infinite
// one, lies below it) and they are not both shared.
func (ls *lockSystem) create(root string, shared, zeroDepth bool, owner string, timeout time.Duration) (davLock, error) {
	root = cleanName(root)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pruneLocked()
	if len(ls.byToken) >= maxLocks {
		return davLock{}, errTooManyLocks
	}
	for _, l := range ls.byToken {
		overlap := l.covers(root) || !zeroDepth && (l.root == root || isAncestor(root, l.root))
		if overlap && !(shared && l.shared) {
			return davLock{}, webdav.ErrLocked
		}
	}
	token, err := newToken()
	if err != nil {
		return davLock{}, err
	}
	l := &davLock{token: token, root: root, shared: shared, zeroDepth: zeroDepth, owner: owner}
	ls.setTimeoutLocked(l, timeout)
	ls.byToken[token] = l
	return *l, nil
}

func (ls *lockSystem) setTimeoutLocked(l *davLock, d time.Duration) {
	l.timeout, l.expiry = d, time.Time{}
	if d >= 0 {
		l.expiry = ls.now().Add(d)
	}
}

// refresh renews the lock token, which must apply to name.
func (ls *lockSystem) refresh(token, name string, d time.Duration) (davLock, error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pruneLocked()
	l := ls.byToken[token]
	if l == nil || !l.covers(cleanName(name)) {
		return davLock{}, webdav.ErrNoSuchLock
	}
	ls.setTimeoutLocked(l, d)
	return *l, nil
}

// unlock removes the lock token, which must apply to name.
func (ls *lockSystem) unlock(token, name string) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pruneLocked()
	l := ls.byToken[token]
	if l == nil || !l.covers(cleanName(name)) {
		return webdav.ErrNoSuchLock
	}
	delete(ls.byToken, token)
	return nil
}

// eval reports whether one If list holds for name.
func (ls *lockSystem) eval(name string, conds []webdav.Condition) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pruneLocked()
	return ls.evalLocked(cleanName(name), conds)
}

// evalLocked: a state token holds when it is a lock that applies to name,
// an entity tag when it is name's current one; "Not" negates.
func (ls *lockSystem) evalLocked(name string, conds []webdav.Condition) bool {
	if len(conds) == 0 {
		return false
	}
	for _, c := range conds {
		var ok bool
		if c.Token != "" {
			l := ls.byToken[c.Token]
			ok = l != nil && l.covers(name)
		} else {
			tag, exists := ls.etag(name)
			ok = exists && tag == c.ETag
		}
		if ok == c.Not {
			return false
		}
	}
	return true
}

// allowed reports whether name may be changed by a request that gives
// these lock tokens: when it is locked, one of its locks must be given.
func (ls *lockSystem) allowed(name string, tokens []string) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pruneLocked()
	return ls.allowedLocked(cleanName(name), tokens)
}

func (ls *lockSystem) allowedLocked(name string, tokens []string) bool {
	locked := false
	for _, l := range ls.byToken {
		if !l.covers(name) {
			continue
		}
		locked = true
		for _, t := range tokens {
			if t == l.token {
				return true
			}
		}
	}
	return !locked
}

// removeTree drops the locks on name and below it: the resources are
// gone (deleted, or moved away; locks do not follow a move).
func (ls *lockSystem) removeTree(name string) {
	name = cleanName(name)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for token, l := range ls.byToken {
		if l.root == name || isAncestor(name, l.root) {
			delete(ls.byToken, token)
		}
	}
}

// prune drops expired locks.
func (ls *lockSystem) prune() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pruneLocked()
}

func (ls *lockSystem) pruneLocked() {
	now := ls.now()
	for token, l := range ls.byToken {
		if !l.expiry.IsZero() && !now.Before(l.expiry) {
			delete(ls.byToken, token)
		}
	}
}

func positiveTokens(conds []webdav.Condition) []string {
	var out []string
	for _, c := range conds {
		if c.Token != "" && !c.Not {
			out = append(out, c.Token)
		}
	}
	return out
}

// newToken is a random lock token, an opaquelocktoken URI (RFC 4918
// appendix C) around a version 4 UUID.
func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("lock token: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("opaquelocktoken:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}
