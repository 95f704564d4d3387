package main

import "github.com/siirto/siirto/verify"

// messages are the lines siirto shows people, in English, Finnish and
// Swedish. messages_test.go fails if a language is missing.
var messages = map[string]verify.Text{
	"journal.using": {
		EN: "Journal number: %s (from %s). Check that it is your permit's.",
		FI: "Diaarinumero: %s (tiedostosta %s). Tarkista, että se on lupasi numero.",
		SV: "Diarienummer: %s (från %s). Kontrollera att det är ditt tillstånds nummer.",
	},
	"encrypt.packing": {
		EN: "Packing %d files (%s) into %s.zip and encrypting it in the same stream.",
		FI: "Pakataan %d tiedostoa (%s) pakettiin %s.zip ja salataan samalla.",
		SV: "Packar %d filer (%s) i %s.zip och krypterar i samma ström.",
	},
	"encrypt.ready": {
		EN: "Encrypting %s (%s) as it is.",
		FI: "Salataan %s (%s) sellaisenaan.",
		SV: "Krypterar %s (%s) som den är.",
	},
	"encrypt.skipped": {
		EN: "Left out desktop clutter: %s",
		FI: "Jätettiin pois työpöydän aputiedosto: %s",
		SV: "Utelämnade skrivbordets hjälpfil: %s",
	},
	"encrypt.done": {
		EN: "Bundle ready for journal number %s:\n  %s  (%s, SHA-256 %s)\n  %s  (manifest: upload it last)",
		FI: "Paketti valmis diaarinumerolle %s:\n  %s  (%s, SHA-256 %s)\n  %s  (kuvaustiedosto: lähetä se viimeisenä)",
		SV: "Paketet är klart för diarienummer %s:\n  %s  (%s, SHA-256 %s)\n  %s  (manifest: ladda upp det sist)",
	},
	"decrypt.done": {
		EN: "Decrypted and checked %s: %s written to %s",
		FI: "Purettu ja tarkistettu %s: %s kirjoitettu kohteeseen %s",
		SV: "Dekrypterade och kontrollerade %s: %s skrevs till %s",
	},
	"decrypt.extracted": {
		EN: "Decrypted and checked %s: %d files (%s) extracted into %s",
		FI: "Purettu ja tarkistettu %s: %d tiedostoa (%s) purettu kansioon %s",
		SV: "Dekrypterade och kontrollerade %s: %d filer (%s) packades upp i %s",
	},
	"verify.ok": {
		EN: "OK    %s  journal %s, %s",
		FI: "OK    %s  diaarinumero %s, %s",
		SV: "OK    %s  diarienummer %s, %s",
	},
	"verify.ok.decrypted": {
		EN: "decrypted and checked (%d files inside)",
		FI: "purettu ja tarkistettu (%d tiedostoa sisällä)",
		SV: "dekrypterat och kontrollerat (%d filer i paketet)",
	},
	"verify.ok.sealed": {
		EN: "checksum and header match; add --key to check the contents",
		FI: "tarkistussumma ja otsake täsmäävät; lisää --key tarkistaaksesi sisällön",
		SV: "kontrollsumma och huvud stämmer; lägg till --key för att kontrollera innehållet",
	},
	"verify.fail": {
		EN: "FAIL  %s  %s",
		FI: "VIRHE %s  %s",
		SV: "FEL   %s  %s",
	},
	"keygen.done": {
		EN: "Key pair written:\n  %s  (public: give this to whoever sends you data)\n  %s  (secret: keep it private%s)\n  fingerprint %s",
		FI: "Avainpari kirjoitettu:\n  %s  (julkinen: anna tämä aineiston lähettäjille)\n  %s  (salainen: pidä se omana tietonasi%s)\n  sormenjälki %s",
		SV: "Nyckelpar skrivet:\n  %s  (publik: ge den till dem som skickar dig material)\n  %s  (hemlig: håll den privat%s)\n  fingeravtryck %s",
	},
	"keygen.protected": {
		EN: ", protected by your passphrase",
		FI: ", suojattu tunnuslauseellasi",
		SV: ", skyddad av din lösenfras",
	},
	"passphrase.prompt": {
		EN: "Passphrase for %s: ",
		FI: "Tunnuslause avaimelle %s: ",
		SV: "Lösenfras för %s: ",
	},
	"passphrase.new": {
		EN: "New passphrase for %s (at least 8 characters): ",
		FI: "Uusi tunnuslause avaimelle %s (vähintään 8 merkkiä): ",
		SV: "Ny lösenfras för %s (minst 8 tecken): ",
	},
	"passphrase.again": {
		EN: "Same passphrase again: ",
		FI: "Sama tunnuslause uudelleen: ",
		SV: "Samma lösenfras igen: ",
	},
	"progress.encrypt": {EN: "Encrypting", FI: "Salataan", SV: "Krypterar"},
	"progress.decrypt": {EN: "Decrypting", FI: "Puretaan", SV: "Dekrypterar"},
	"progress.verify":  {EN: "Checking", FI: "Tarkistetaan", SV: "Kontrollerar"},
	"progress.upload":  {EN: "Uploading", FI: "Lähetetään", SV: "Laddar upp"},
	"progress.send":    {EN: "Sending", FI: "Lähetetään", SV: "Skickar"},
	"upload.folder": {
		EN: "Journal folder for journal number %s: %s",
		FI: "Diaarikansio diaarinumerolle %s: %s",
		SV: "Diariemapp för diarienummer %s: %s",
	},
	"upload.done": {
		EN: "Uploaded %s to journal number %s; the authority's gateway takes it from here.",
		FI: "%s lähetetty diaarinumerolle %s; viranomaisen yhdyskäytävä jatkaa tästä.",
		SV: "%s uppladdat till diarienummer %s; myndighetens gateway tar över härifrån.",
	},
	"upload.skipped": {
		EN: "%s was already in the folder of journal number %s; nothing was sent again.",
		FI: "%s oli jo diaarinumeron %s kansiossa; mitään ei lähetetty uudelleen.",
		SV: "%s fanns redan i mappen för diarienummer %s; inget skickades igen.",
	},
	"status.accepted": {
		EN: "The authority received %s on %s: %s, SHA-256 %s, as sent.",
		FI: "Viranomainen vastaanotti paketin %s %s: %s, SHA-256 %s, kuten lähetettiin.",
		SV: "Myndigheten tog emot %s den %s: %s, SHA-256 %s, som det skickades.",
	},
	"status.rejected": {
		EN: "The authority's gateway rejected %s on %s: %s (%s)\n  %s",
		FI: "Viranomaisen yhdyskäytävä hylkäsi paketin %s %s: %s (%s)\n  %s",
		SV: "Myndighetens gateway avvisade %s den %s: %s (%s)\n  %s",
	},
	"status.clean.ask": {
		EN: "The authority has the data. Delete these permanently?\n  %s\n[y/N] ",
		FI: "Viranomaisella on aineisto. Poistetaanko nämä pysyvästi?\n  %s\n[k/E] ",
		SV: "Myndigheten har materialet. Radera dessa permanent?\n  %s\n[j/N] ",
	},
	"status.cleaned": {
		EN: "Deleted %d local copies. Empty the trash too if your desktop moved anything there.",
		FI: "Poistettiin %d paikallista kopiota. Tyhjennä myös roskakori, jos työpöytä siirsi sinne jotain.",
		SV: "Raderade %d lokala kopior. Töm också papperskorgen om skrivbordet flyttade något dit.",
	},
	"app.url": {
		EN: "siirto app is running. If no browser window opened, open this address (it holds a secret: do not share it):\n  %s\nStop the app with Ctrl-C, or close its window.\n",
		FI: "siirto app on käynnissä. Jos selainikkuna ei auennut, avaa tämä osoite (se sisältää salaisuuden: älä jaa sitä):\n  %s\nPysäytä sovellus painamalla Ctrl-C tai sulje sen ikkuna.\n",
		SV: "siirto app körs. Om inget webbläsarfönster öppnades, öppna den här adressen (den innehåller en hemlighet: dela den inte):\n  %s\nStoppa appen med Ctrl-C eller stäng dess fönster.\n",
	},
	"app.nobrowser": {
		EN: "Could not open a browser (%v): open the address above yourself.\n",
		FI: "Selainta ei voitu avata (%v): avaa yllä oleva osoite itse.\n",
		SV: "Kunde inte öppna en webbläsare (%v): öppna adressen ovan själv.\n",
	},
	"password.prompt": {
		EN: "Password (app password) for the transfer service: ",
		FI: "Siirtopalvelun salasana (sovellussalasana): ",
		SV: "Lösenord (applösenord) för överföringstjänsten: ",
	},
}

func text(key, lang string) string {
	t, ok := messages[key]
	if !ok {
		return key
	}
	return t.In(lang)
}
