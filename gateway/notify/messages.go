package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siirto/siirto/verify"
)

// catalogue holds every sentence of a notice mail in English, Finnish and
// Swedish. It is a struct rather than a map so that a sentence the code
// uses cannot be missing; a test checks that none is empty in any
// language. Only the subjects take an argument: the journal number (%s).
type catalogue struct {
	SubjectStaged, SubjectRejected verify.Text
	IntroStaged, IntroRejected     verify.Text
	Staged, Rejected               verify.Text // the names of the states

	Journal, Folder, Bundle, State verify.Text
	Reason, Advice                 verify.Text
	Payload, PayloadSHA256         verify.Text
	Plaintext, PlaintextSHA256     verify.Text
	Files, Staging                 verify.Text
	Time, Gateway, ID              verify.Text
	Bytes                          verify.Text // the unit after an exact size
	Footer                         verify.Text
}

var texts = catalogue{
	SubjectStaged: verify.Text{
		EN: "siirto: bundle staged — %s",
		FI: "siirto: paketti valmis käsiteltäväksi — %s",
		SV: "siirto: paket klart för behandling — %s"},
	SubjectRejected: verify.Text{
		EN: "siirto: bundle rejected — %s",
		FI: "siirto: paketti hylätty — %s",
		SV: "siirto: paket avvisat — %s"},
	IntroStaged: verify.Text{
		EN: "A bundle was verified, decrypted and staged. It is ready for processing.",
		FI: "Paketti on tarkistettu, purettu salauksesta ja siirretty välialueelle. Se on valmis käsiteltäväksi.",
		SV: "Ett paket har kontrollerats, dekrypterats och lagts i mellanlagringen. Det är klart för behandling."},
	IntroRejected: verify.Text{
		EN: "A bundle was rejected, and nothing from it was staged. The sender sees the reason with siirto status.",
		FI: "Paketti hylättiin, eikä siitä siirretty mitään välialueelle. Lähettäjä näkee syyn komennolla siirto status.",
		SV: "Ett paket avvisades, och inget av det lades i mellanlagringen. Avsändaren ser orsaken med siirto status."},
	Staged:          verify.Text{EN: "staged", FI: "valmis käsiteltäväksi", SV: "klart för behandling"},
	Rejected:        verify.Text{EN: "rejected", FI: "hylätty", SV: "avvisat"},
	Journal:         verify.Text{EN: "Journal number", FI: "Diaarinumero", SV: "Diarienummer"},
	Folder:          verify.Text{EN: "Journal folder", FI: "Diaarikansio", SV: "Diariemapp"},
	Bundle:          verify.Text{EN: "Bundle", FI: "Paketti", SV: "Paket"},
	State:           verify.Text{EN: "State", FI: "Tila", SV: "Status"},
	Reason:          verify.Text{EN: "Reason", FI: "Syy", SV: "Orsak"},
	Advice:          verify.Text{EN: "Advice to the sender", FI: "Ohje lähettäjälle", SV: "Råd till avsändaren"},
	Payload:         verify.Text{EN: "Encrypted file", FI: "Salattu tiedosto", SV: "Krypterad fil"},
	PayloadSHA256:   verify.Text{EN: "Encrypted file SHA-256", FI: "Salatun tiedoston SHA-256", SV: "Krypterade filens SHA-256"},
	Plaintext:       verify.Text{EN: "Decrypted contents", FI: "Purettu sisältö", SV: "Dekrypterat innehåll"},
	PlaintextSHA256: verify.Text{EN: "Decrypted contents SHA-256", FI: "Puretun sisällön SHA-256", SV: "Dekrypterade innehållets SHA-256"},
	Files:           verify.Text{EN: "Files staged", FI: "Tiedostoja välialueella", SV: "Filer i mellanlagringen"},
	Staging:         verify.Text{EN: "Staging folder", FI: "Välialueen kansio", SV: "Mapp i mellanlagringen"},
	Time:            verify.Text{EN: "Time", FI: "Aika", SV: "Tid"},
	Gateway:         verify.Text{EN: "Gateway", FI: "Yhdyskäytävä", SV: "Gateway"},
	ID:              verify.Text{EN: "Bundle id", FI: "Paketin tunniste", SV: "Paketets id"},
	Bytes:           verify.Text{EN: "bytes", FI: "tavua", SV: "byte"},
	Footer: verify.Text{
		EN: "This message was sent automatically by the siirto gateway. It holds no personal data and no names of files inside the bundle.",
		FI: "Tämän viestin lähetti siirto-yhdyskäytävä automaattisesti. Siinä ei ole henkilötietoja eikä paketin sisältämien tiedostojen nimiä.",
		SV: "Detta meddelande skickades automatiskt av siirto-gatewayen. Det innehåller inga personuppgifter och inga namn på filer i paketet."},
}

// language is lang if the catalogue has it, English otherwise.
func language(lang string) string {
	switch lang {
	case "fi", "sv":
		return lang
	}
	return "en"
}

// compose writes the subject and plain-text body of a mail about n, which
// must be valid, in lang, with times in loc.
func compose(n Notice, lang string, loc *time.Location) (subject, body string) {
	lang = language(lang)
	in := func(t verify.Text) string { return t.In(lang) }
	subjectText, intro, state := texts.SubjectStaged, texts.IntroStaged, texts.Staged
	if n.State == StateRejected {
		subjectText, intro, state = texts.SubjectRejected, texts.IntroRejected, texts.Rejected
	}
	subject = fmt.Sprintf(in(subjectText), n.Journal)

	var lines [][2]string
	add := func(label verify.Text, value string) { lines = append(lines, [2]string{in(label), value}) }
	add(texts.Journal, n.Journal)
	if n.Folder != "" {
		add(texts.Folder, n.Folder)
	}
	add(texts.Bundle, n.Bundle)
	add(texts.State, in(state))
	if n.State == StateRejected {
		// The title and advice the sender was given, in the same words.
		if info := verify.Lookup(verify.Code(n.Code)); string(info.Code) == n.Code {
			add(texts.Reason, n.Code+" — "+info.Title.In(lang))
			add(texts.Advice, info.Advice.In(lang))
		} else {
			add(texts.Reason, n.Code)
		}
	}
	if n.PayloadSize > 0 || n.PayloadSHA256 != "" {
		add(texts.Payload, size(n.PayloadSize, lang))
	}
	if n.PayloadSHA256 != "" {
		add(texts.PayloadSHA256, n.PayloadSHA256)
	}
	if n.PlaintextSize > 0 || n.PlaintextSHA256 != "" {
		add(texts.Plaintext, size(n.PlaintextSize, lang))
	}
	if n.PlaintextSHA256 != "" {
		add(texts.PlaintextSHA256, n.PlaintextSHA256)
	}
	if n.State == StateStaged {
		add(texts.Files, strconv.Itoa(n.Files))
	}
	if n.StagingPath != "" {
		add(texts.Staging, n.StagingPath)
	}
	add(texts.Time, n.Time.In(loc).Format("2006-01-02 15:04:05 MST"))
	if n.Gateway != "" {
		add(texts.Gateway, n.Gateway)
	}
	add(texts.ID, n.ID)

	width := 0
	for _, l := range lines {
		width = max(width, utf8.RuneCountInString(l[0]))
	}
	var b strings.Builder
	b.WriteString(in(intro) + "\n\n")
	for _, l := range lines {
		// Aligned values are easier to scan and to copy.
		b.WriteString(l[0] + ":" + strings.Repeat(" ", width-utf8.RuneCountInString(l[0])+1) + l[1] + "\n")
	}
	b.WriteString("\n" + in(texts.Footer) + "\n")
	return subject, b.String()
}

// size is n bytes for people and exactly: "1.5 GiB (1610612736 bytes)",
// with a decimal comma in Finnish and Swedish.
func size(n int64, lang string) string {
	exact := strconv.FormatInt(n, 10) + " " + texts.Bytes.In(lang)
	if n < 1024 {
		return exact
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if lang != "en" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " " + units[i] + " (" + exact + ")"
}
