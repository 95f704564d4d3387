package dav

import (
	useraccounts "github.com/siirto/siirto/gateway/accounts"
	"net/http"
	"strings"
)

// authenticate checks the request's Basic credentials, refusing banned
// addresses outright. It answers the request itself and returns false
// unless the user is authenticated; then rq.user is set.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, rq *request) bool {
	now := s.cfg.Now()
	if until, ok := s.guard.banned(rq.addr, now); ok {
		// The password is not even checked: a ban must stop guessing.
		w.Header().Set("Retry-After", retryAfter(until.Sub(now)))
		http.Error(w, "too many failed logins from your address: try again later", http.StatusTooManyRequests)
		return false
	}
	user, password, ok := r.BasicAuth()
	if !ok {
		// No credentials is the first step of HTTP authentication (many
		// clients wait for this challenge), not a failed login.
		challenge(w)
		return false
	}
	if !validUser(user) || s.cfg.Accounts.Authenticate(r.Context(), user, password) != nil {
		if len(user) > 64 { // not a user name: keep the audit short
			user = strings.ToValidUTF8(user[:64], "?") + "..."
		}
		s.events.LoginFailed(rq.addr, user)
		s.log.Info("dav: login failed", "addr", rq.addr, "user", user)
		if until := s.guard.fail(rq.addr, now); !until.IsZero() {
			s.events.Banned(rq.addr, until)
			s.log.Warn("dav: address banned after failed logins", "addr", rq.addr, "until", until)
		}
		challenge(w)
		return false
	}
	rq.user = user
	return true
}

func challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="siirto"`)
	http.Error(w, "wrong or missing user name or password", http.StatusUnauthorized)
}

// validUser reports whether a user name can name a folder in URLs and on
// disk: 1 to 64 of A-Z a-z 0-9 . _ @ -, not starting with a dot.
func validUser(u string) bool { return useraccounts.CheckUserName(u) == nil }
