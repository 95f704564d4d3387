package app

import (
	"embed"
	"encoding/json"
	"io/fs"
	"strconv"
	"strings"

	"github.com/siirto/siirto/verify"
)

// web holds the page, its script and style, and the message catalogues:
// everything the browser gets, in the binary, so the app needs no
// network but the upload target.
//
//go:embed web
var web embed.FS

// assets is web/ as the browser addresses it (/assets/app.js).
var assets, _ = fs.Sub(web, "web")

// langs are the app's languages, in the order the switch offers them.
var langs = []string{"fi", "sv", "en"}

// catalogues are the page's messages per language, from web/i18n.
var catalogues = loadCatalogues()

func loadCatalogues() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, l := range langs {
		data, err := web.ReadFile("web/i18n/" + l + ".json")
		if err != nil {
			panic(err) // embedded: a build without it is broken
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			panic("app: web/i18n/" + l + ".json: " + err.Error())
		}
		out[l] = m
	}
	return out
}

// catalog is every message the page shows in lang: its own, and each
// error code's title and advice from verify's table, so the advice is
// the same words the command line gives.
func catalog(lang string) map[string]string {
	out := make(map[string]string, len(catalogues[lang])+2*len(verify.Codes()))
	for k, v := range catalogues[lang] {
		out[k] = v
	}
	for _, info := range verify.Codes() {
		out["error."+string(info.Code)+".title"] = info.Title.In(lang)
		out["error."+string(info.Code)+".advice"] = info.Advice.In(lang)
	}
	return out
}

// pickLang is the asked language if the app has it, else the browser's
// most preferred one it has (Accept-Language), else fallback, else en.
func pickLang(asked, accept, fallback string) string {
	has := func(l string) bool { _, ok := catalogues[l]; return ok }
	if has(asked) {
		return asked
	}
	best, bestQ := "", 0.0
	for _, part := range strings.Split(accept, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if has(base) && q > bestQ {
			best, bestQ = base, q
		}
	}
	switch {
	case best != "":
		return best
	case has(fallback):
		return fallback
	}
	return "en"
}
