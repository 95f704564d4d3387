package dav

import (
	"strings"

	"golang.org/x/net/webdav"
)

// ifList is one list of an If header: conditions that must all hold, for
// the tagged resource or, untagged, for the request's.
type ifList struct {
	tag   string
	conds []webdav.Condition
}

// parseIf parses an If header (RFC 4918 section 10.4): either untagged
// lists "(...) (...)" or tagged ones "<url> (...) <url> (...)", each list
// holding conditions "[Not] <state-token>" or "[Not] [entity-tag]".
func parseIf(h string) ([]ifList, bool) {
	var lists []ifList
	s := strings.TrimSpace(h)
	tagged, tag, needList := s != "" && s[0] == '<', "", false
	for s != "" {
		switch s[0] {
		case '<':
			end := strings.IndexByte(s, '>')
			if !tagged || needList || end < 0 {
				return nil, false
			}
			tag, needList, s = s[1:end], true, s[end+1:]
		case '(':
			conds, rest, ok := parseIfList(s[1:])
			if !ok {
				return nil, false
			}
			lists = append(lists, ifList{tag: tag, conds: conds})
			needList, s = false, rest
		default:
			return nil, false
		}
		s = strings.TrimLeft(s, " \t")
	}
	return lists, len(lists) > 0 && !needList
}

// parseIfList parses conditions up to the ")" that closes a list.
func parseIfList(s string) ([]webdav.Condition, string, bool) {
	var conds []webdav.Condition
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		if s[0] == ')' {
			return conds, s[1:], len(conds) > 0
		}
		var c webdav.Condition
		if len(s) >= 3 && strings.EqualFold(s[:3], "not") {
			c.Not, s = true, strings.TrimLeft(s[3:], " \t")
		}
		if s == "" {
			return nil, "", false
		}
		var closer byte
		switch s[0] {
		case '<':
			closer = '>'
		case '[':
			closer = ']'
		default:
			return nil, "", false
		}
		end := strings.IndexByte(s, closer)
		if end < 0 {
			return nil, "", false
		}
		if closer == '>' {
			c.Token = s[1:end]
		} else {
			c.ETag = s[1:end]
		}
		if c.Token == "" && c.ETag == "" {
			return nil, "", false
		}
		conds = append(conds, c)
		s = s[end+1:]
	}
}
