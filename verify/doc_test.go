package verify

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/errors.md from the code table")

// errorsDoc renders docs/errors.md from the table, so the document can
// never disagree with the codes the programs print.
func errorsDoc() string {
	var b strings.Builder
	b.WriteString(`# Error codes

Every refusal by siirto and siirto-gateway carries one of these codes. A code
never changes meaning: scripts, receipts and metrics rely on it. People see the
title and the advice in their language (English, Finnish, Swedish). The detail
line after the title is technical English for the person running the command:
it never holds keys or passphrases, but it may name a file inside the bundle,
so a service must not forward details where inner names must not go (email).

The exit status of the command-line tools follows the class:
1 unexpected error, 2 wrong usage, 3 the bundle or its inputs break a rule,
4 key or passphrase problem, 5 local problem, 6 the server or the network,
and 130 when interrupted.

This file is generated from ` + "`verify/errors.go`" + ` by
` + "`go test ./verify -run TestErrorsDoc -update`" + `; a test fails when it is stale.

| code | exit | what happened | what to do |
|---|---|---|---|
`)
	for _, i := range Codes() {
		exit := int(i.Class)
		if i.Code == CodeInterrupted {
			exit = 130
		}
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s |\n", i.Code, exit, i.Title.EN, i.Advice.EN)
	}
	b.WriteString("\n## Suomeksi\n\n| koodi | mitä tapahtui | mitä tehdä |\n|---|---|---|\n")
	for _, i := range Codes() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", i.Code, i.Title.FI, i.Advice.FI)
	}
	b.WriteString("\n## På svenska\n\n| kod | vad hände | vad göra |\n|---|---|---|\n")
	for _, i := range Codes() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", i.Code, i.Title.SV, i.Advice.SV)
	}
	return b.String()
}

func TestErrorsDoc(t *testing.T) {
	const path = "../docs/errors.md"
	want := errorsDoc()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("docs/errors.md is stale: run go test ./verify -run TestErrorsDoc -update")
	}
}
