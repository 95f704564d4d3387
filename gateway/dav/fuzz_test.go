package dav

import (
	"strings"
	"testing"
)

// FuzzParseIf: the If header parser never panics, and what it accepts
// has only conditions with a token or an ETag, each token ending at its
// closing bracket.
func FuzzParseIf(f *testing.F) {
	for _, s := range []string{
		`(<opaquelocktoken:abc>)`,
		`<http://h/p> (Not <urn:x> ["etag"])`,
		`(<a>) (["b"])`,
		`(`, `<>`, `(Not)`, `<x> (<y>) <z>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		lists, ok := parseIf(h)
		if !ok {
			return
		}
		for _, l := range lists {
			for _, c := range l.conds {
				if c.Token == "" && c.ETag == "" {
					t.Fatalf("%q: an empty condition was accepted", h)
				}
				if strings.Contains(c.Token, ">") {
					t.Fatalf("%q: token %q runs past its closing bracket", h, c.Token)
				}
			}
		}
	})
}
