package notify

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/siirto/siirto/verify"
)

var langs = []string{"en", "fi", "sv"}

// Every sentence exists in every language; only subjects take the
// journal number, and nothing else has a verb for Sprintf.
func TestCatalogueComplete(t *testing.T) {
	v := reflect.ValueOf(texts)
	if v.NumField() == 0 {
		t.Fatal("empty catalogue")
	}
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		text, ok := v.Field(i).Interface().(verify.Text)
		if !ok {
			t.Fatalf("catalogue field %s is not a verify.Text", name)
		}
		for _, lang := range langs {
			s := text.In(lang)
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s has no %s text", name, lang)
			}
			verbs := strings.Count(s, "%")
			if strings.HasPrefix(name, "Subject") {
				if verbs != 1 || strings.Count(s, "%s") != 1 {
					t.Errorf("%s in %s: want exactly one %%s: %q", name, lang, s)
				}
			} else if verbs != 0 {
				t.Errorf("%s in %s has a %%: %q", name, lang, s)
			}
		}
		if text.FI == text.EN && text.SV == text.EN && name != "Gateway" {
			t.Errorf("%s is not translated: %q", name, text.EN)
		}
	}
	// The error titles and advice a rejected mail quotes exist too.
	for _, info := range verify.Codes() {
		for _, lang := range langs {
			if info.Title.In(lang) == "" || info.Advice.In(lang) == "" {
				t.Errorf("%s has no %s title or advice", info.Code, lang)
			}
		}
	}
}

func TestSize(t *testing.T) {
	for _, c := range []struct {
		n          int64
		lang, want string
	}{
		{0, "en", "0 bytes"},
		{1023, "fi", "1023 tavua"},
		{1024, "en", "1.0 KiB (1024 bytes)"},
		{1610612736, "en", "1.5 GiB (1610612736 bytes)"},
		{1610612736, "fi", "1,5 GiB (1610612736 tavua)"},
		{1610612736, "sv", "1,5 GiB (1610612736 byte)"},
		{5 << 40, "en", "5.0 TiB (5497558138880 bytes)"},
	} {
		if got := size(c.n, c.lang); got != c.want {
			t.Errorf("size(%d, %s) = %q, want %q", c.n, c.lang, got, c.want)
		}
	}
}

// The whole English body of a staged notice, to the letter.
func TestComposeStagedEnglish(t *testing.T) {
	n := stagedNotice("a")
	subject, body := compose(n, "en", time.UTC)
	if subject != "siirto: bundle staged — THL/1234/14.02.00/2023" {
		t.Errorf("subject %q", subject)
	}
	want := "A bundle was verified, decrypted and staged. It is ready for processing.\n\n" +
		"Journal number:             THL/1234/14.02.00/2023\n" +
		"Journal folder:             THL_1234_14.02.00_2023\n" +
		"Bundle:                     cohort\n" +
		"State:                      staged\n" +
		"Encrypted file:             1.5 GiB (1610678272 bytes)\n" +
		"Encrypted file SHA-256:     " + n.PayloadSHA256 + "\n" +
		"Decrypted contents:         1.5 GiB (1610612736 bytes)\n" +
		"Decrypted contents SHA-256: " + n.PlaintextSHA256 + "\n" +
		"Files staged:               12\n" +
		"Staging folder:             /srv/siirto/staging/THL_1234_14.02.00_2023/cohort\n" +
		"Time:                       2023-05-02 10:04:05 UTC\n" +
		"Gateway:                    gw1\n" +
		"Bundle id:                  " + n.ID + "\n\n" +
		"This message was sent automatically by the siirto gateway. It holds no personal data and no names of files inside the bundle.\n"
	if body != want {
		t.Errorf("body:\n%s\nwant:\n%s", body, want)
	}
}

// In every language and state the body is the intro, then lines whose
// labels come from the catalogue and whose values come from the notice
// (or from verify for the reason), then the footer: nothing else.
func TestComposeOnlyNoticeFields(t *testing.T) {
	loc := time.FixedZone("EEST", 3*3600)
	for _, lang := range langs {
		for _, n := range []Notice{stagedNotice("a"), rejectedNotice("a")} {
			subject, body := compose(n, lang, loc)
			intro, state, subj := texts.IntroStaged, texts.Staged, texts.SubjectStaged
			if n.State == StateRejected {
				intro, state, subj = texts.IntroRejected, texts.Rejected, texts.SubjectRejected
			}
			if subject != fmt.Sprintf(subj.In(lang), n.Journal) {
				t.Errorf("%s %s subject %q", lang, n.State, subject)
			}
			info := verify.Lookup(verify.CodeTampered)
			values := map[string]string{
				texts.Journal.In(lang): n.Journal, texts.Folder.In(lang): n.Folder, texts.Bundle.In(lang): n.Bundle,
				texts.State.In(lang): state.In(lang), texts.Payload.In(lang): size(n.PayloadSize, lang),
				texts.PayloadSHA256.In(lang): n.PayloadSHA256, texts.Time.In(lang): "2023-05-02 13:04:05 EEST",
				texts.Gateway.In(lang): n.Gateway, texts.ID.In(lang): n.ID,
			}
			if n.State == StateStaged {
				values[texts.Plaintext.In(lang)] = size(n.PlaintextSize, lang)
				values[texts.PlaintextSHA256.In(lang)] = n.PlaintextSHA256
				values[texts.Files.In(lang)] = "12"
				values[texts.Staging.In(lang)] = n.StagingPath
			} else {
				values[texts.Reason.In(lang)] = "E_TAMPERED — " + info.Title.In(lang)
				values[texts.Advice.In(lang)] = info.Advice.In(lang)
			}
			parts := strings.Split(body, "\n\n")
			if len(parts) != 3 || parts[0] != intro.In(lang) || parts[2] != texts.Footer.In(lang)+"\n" {
				t.Fatalf("%s %s: not intro, fields, footer:\n%s", lang, n.State, body)
			}
			seen := map[string]bool{}
			for _, line := range strings.Split(parts[1], "\n") {
				label, value, ok := strings.Cut(line, ":")
				value = strings.TrimLeft(value, " ")
				want, known := values[label]
				if !ok || !known || value != want || seen[label] {
					t.Errorf("%s %s: unexpected line %q", lang, n.State, line)
				}
				seen[label] = true
			}
			if len(seen) != len(values) {
				t.Errorf("%s %s: %d fields, want %d:\n%s", lang, n.State, len(seen), len(values), body)
			}
		}
	}
}

// An unknown code is shown as it is, not as some other code's advice.
func TestComposeUnknownCode(t *testing.T) {
	n := rejectedNotice("a")
	n.Code = "E_FROM_THE_FUTURE"
	_, body := compose(n, "fi", time.UTC)
	if !strings.Contains(body, "Syy:") || !strings.Contains(body, "E_FROM_THE_FUTURE\n") {
		t.Errorf("body:\n%s", body)
	}
	if strings.Contains(body, texts.Advice.In("fi")) || strings.Contains(body, verify.Lookup(verify.CodeInternal).Title.FI) {
		t.Errorf("an unknown code got advice:\n%s", body)
	}
	if _, body := compose(n, "de", time.UTC); !strings.HasPrefix(body, texts.IntroRejected.EN) {
		t.Errorf("an unknown language is not English:\n%s", body)
	}
}
