package verify

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
)

// Code is a stable error code, such as E_JOURNAL_MISMATCH. Codes never
// change meaning: scripts, receipts and metrics rely on them. Each one is
// listed in docs/errors.md.
type Code string

// Error codes. The table below gives each a title and advice in English,
// Finnish and Swedish.
const (
	CodeNameInvalid        Code = "E_NAME_INVALID"
	CodeNameMismatch       Code = "E_NAME_MISMATCH"
	CodeEntryInvalid       Code = "E_ENTRY_INVALID"
	CodeEntryDuplicate     Code = "E_ENTRY_DUPLICATE"
	CodeEntrySymlink       Code = "E_ENTRY_SYMLINK"
	CodeZipEncrypted       Code = "E_ZIP_ENCRYPTED"
	CodeZipInvalid         Code = "E_ZIP_INVALID"
	CodeZipBomb            Code = "E_ZIP_BOMB"
	CodeJournalInvalid     Code = "E_JOURNAL_INVALID"
	CodeJournalMismatch    Code = "E_JOURNAL_MISMATCH"
	CodeManifestMissing    Code = "E_MANIFEST_MISSING"
	CodeManifestInvalid    Code = "E_MANIFEST_INVALID"
	CodeFormatUnsupported  Code = "E_FORMAT_UNSUPPORTED"
	CodePayloadMissing     Code = "E_PAYLOAD_MISSING"
	CodeChecksumMismatch   Code = "E_CHECKSUM_MISMATCH"
	CodeTruncated          Code = "E_TRUNCATED"
	CodeTampered           Code = "E_TAMPERED"
	CodeNotCrypt4GH        Code = "E_NOT_CRYPT4GH"
	CodeHeaderInvalid      Code = "E_HEADER_INVALID"
	CodeUnsupported        Code = "E_UNSUPPORTED"
	CodeWrongKey           Code = "E_WRONG_KEY"
	CodeRecipientMissing   Code = "E_RECIPIENT_MISSING"
	CodeSenderMismatch     Code = "E_SENDER_MISMATCH"
	CodeSenderUnknown      Code = "E_SENDER_UNKNOWN"
	CodeListingInvalid     Code = "E_LISTING_INVALID"
	CodeListingMismatch    Code = "E_LISTING_MISMATCH"
	CodeKeyInvalid         Code = "E_KEY_INVALID"
	CodePassphrase         Code = "E_PASSPHRASE"
	CodeExists             Code = "E_EXISTS"
	CodeDiskFull           Code = "E_DISK_FULL"
	CodeIO                 Code = "E_IO"
	CodeUsage              Code = "E_USAGE"
	CodeInterrupted        Code = "E_INTERRUPTED"
	CodeInternal           Code = "E_INTERNAL"
	CodeJournalFileMissing Code = "E_JOURNAL_FILE_MISSING"
	CodeTargetInvalid      Code = "E_TARGET_INVALID"
	CodeFolderMissing      Code = "E_FOLDER_MISSING"
	CodeAuth               Code = "E_AUTH"
	CodeForbidden          Code = "E_FORBIDDEN"
	CodeNotFound           Code = "E_NOT_FOUND"
	CodeTooLarge           Code = "E_TOO_LARGE"
	CodeLocked             Code = "E_LOCKED"
	CodeQuota              Code = "E_QUOTA"
	CodeServer             Code = "E_SERVER"
	CodeNetwork            Code = "E_NETWORK"
	CodeUploadMismatch     Code = "E_UPLOAD_MISMATCH"
	CodeReceiptInvalid     Code = "E_RECEIPT_INVALID"
	CodeNoReceipt          Code = "E_NO_RECEIPT"
	CodeRejected           Code = "E_REJECTED"
)

// Class groups codes by who must act; it decides the exit status.
type Class int

// Classes, with the exit status the command-line tools use for each.
const (
	ClassInternal Class = 1 // a bug or an unexpected failure
	ClassUsage    Class = 2 // the command was given wrongly
	ClassBundle   Class = 3 // the bundle or its inputs break the rules
	ClassKey      Class = 4 // a key or passphrase problem
	ClassLocal    Class = 5 // the local system: files, space, interruption
	ClassRemote   Class = 6 // the server or the network
)

// Text is a message in the three languages people see.
type Text struct{ EN, FI, SV string }

// In returns the text in lang ("en", "fi" or "sv"), English otherwise.
func (t Text) In(lang string) string {
	switch lang {
	case "fi":
		return t.FI
	case "sv":
		return t.SV
	}
	return t.EN
}

// Info documents one code.
type Info struct {
	Code   Code
	Class  Class
	Title  Text // what happened
	Advice Text // what to do
}

// Lookup returns the documentation of c; unknown codes describe E_INTERNAL.
func Lookup(c Code) Info {
	if i, ok := table[c]; ok {
		return i
	}
	return table[CodeInternal]
}

// Codes returns every code, sorted.
func Codes() []Info {
	out := make([]Info, 0, len(table))
	for _, i := range table {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Code < out[b].Code })
	return out
}

// Error is a refusal with a stable code. Detail is a technical sentence in
// English for logs and experts; it never holds secrets.
type Error struct {
	Code   Code
	Detail string
	Err    error
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return string(e.Code) + ": " + Lookup(e.Code).Title.EN
	}
	return string(e.Code) + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code c. A %w verb in format wraps its
// argument as the cause.
func Errorf(c Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: c, Detail: err.Error(), Err: errors.Unwrap(err)}
}

// AsError returns err as an *Error, giving it a code from the sentinel
// errors of the encrypt package and the standard library when it has
// none. It returns nil for a nil err.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeOf(err), Detail: err.Error(), Err: err}
}

// CodeOf returns the code for err.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	for _, m := range sentinels {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	if encrypt.IsDiskFull(err) {
		return CodeDiskFull
	}
	var pe *fs.PathError
	if errors.As(err, &pe) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return CodeIO
	}
	return CodeInternal
}

var sentinels = []struct {
	err  error
	code Code
}{
	{encrypt.ErrUnsafeName, CodeEntryInvalid},
	{encrypt.ErrDuplicate, CodeEntryDuplicate},
	{encrypt.ErrSymlink, CodeEntrySymlink},
	{encrypt.ErrZipEncrypted, CodeZipEncrypted},
	{encrypt.ErrZipInvalid, CodeZipInvalid},
	{zip.ErrFormat, CodeZipInvalid},
	{encrypt.ErrZipBomb, CodeZipBomb},
	{encrypt.ErrDiskSpace, CodeDiskFull},
	{encrypt.ErrExists, CodeExists},
	{encrypt.ErrListingFormat, CodeListingInvalid},
	{encrypt.ErrNotCrypt4GH, CodeNotCrypt4GH},
	{encrypt.ErrHeader, CodeHeaderInvalid},
	{encrypt.ErrWrongKey, CodeWrongKey},
	{encrypt.ErrTampered, CodeTampered},
	{encrypt.ErrTruncated, CodeTruncated},
	{encrypt.ErrUnsupported, CodeUnsupported},
	{encrypt.ErrKeyFormat, CodeKeyInvalid},
	{encrypt.ErrPassphraseRequired, CodePassphrase},
	{encrypt.ErrPassphrase, CodePassphrase},
	{os.ErrExist, CodeExists},
	{context.Canceled, CodeInterrupted},
	{clients.ErrTarget, CodeTargetInvalid},
	{clients.ErrAuth, CodeAuth},
	{clients.ErrForbidden, CodeForbidden},
	{clients.ErrConflict, CodeFolderMissing},
	{clients.ErrNotFound, CodeNotFound},
	{clients.ErrTooLarge, CodeTooLarge},
	{clients.ErrLocked, CodeLocked},
	{clients.ErrQuota, CodeQuota},
	{clients.ErrServer, CodeServer},
	{clients.ErrNetwork, CodeNetwork},
}

// Message renders err for a person in lang: what happened, the detail,
// and what to do.
func Message(err error, lang string) string {
	e := AsError(err)
	info := Lookup(e.Code)
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)", info.Title.In(lang), e.Code)
	if e.Detail != "" {
		fmt.Fprintf(&b, "\n  %s", e.Detail)
	}
	fmt.Fprintf(&b, "\n  %s", info.Advice.In(lang))
	return b.String()
}

var table = map[Code]Info{}

func def(c Code, class Class, title, advice Text) {
	table[c] = Info{Code: c, Class: class, Title: title, Advice: advice}
}

func init() {
	def(CodeNameInvalid, ClassBundle,
		Text{"The bundle name is not allowed.", "Paketin nimi ei ole sallittu.", "Paketets namn är inte tillåtet."},
		Text{"Use only letters a-z and A-Z, digits, dot, hyphen and underscore (no spaces, /, commas, ?, +, brackets), at most 100 characters, and start with a letter or digit.",
			"Käytä vain kirjaimia a–z ja A–Z, numeroita, pistettä, yhdysmerkkiä ja alaviivaa (ei välilyöntejä, /-merkkiä, pilkkuja, ?, + tai sulkeita), enintään 100 merkkiä, ja aloita kirjaimella tai numerolla.",
			"Använd bara bokstäverna a–z och A–Z, siffror, punkt, bindestreck och understreck (inga mellanslag, /, kommatecken, ?, + eller parenteser), högst 100 tecken, och börja med en bokstav eller siffra."})
	def(CodeNameMismatch, ClassBundle,
		Text{"The manifest and the payload do not belong together.", "Kuvaustiedosto ja salattu tiedosto eivät kuulu yhteen.", "Manifestet och den krypterade filen hör inte ihop."},
		Text{"Keep the .c4gh and .json files with the names siirto gave them; do not rename one of them.",
			"Säilytä .c4gh- ja .json-tiedostot siirron antamilla nimillä; älä nimeä kumpaakaan uudelleen.",
			"Behåll .c4gh- och .json-filerna med de namn siirto gav dem; byt inte namn på någon av dem."})
	def(CodeEntryInvalid, ClassBundle,
		Text{"A file name inside the zip is unsafe.", "Zip-paketin sisällä on vaarallinen tiedostonimi.", "Ett filnamn i zip-filen är osäkert."},
		Text{"Rename the file so that its path has no '..', no leading '/', no backslash, colon or control characters, then pack again.",
			"Nimeä tiedosto uudelleen niin, ettei polussa ole '..'-osaa, alun '/'-merkkiä, kenoviivaa, kaksoispistettä tai ohjausmerkkejä, ja pakkaa uudelleen.",
			"Byt namn på filen så att sökvägen saknar '..', inledande '/', omvänt snedstreck, kolon och styrtecken, och packa igen."})
	def(CodeEntryDuplicate, ClassBundle,
		Text{"Two files would get the same name.", "Kaksi tiedostoa saisi saman nimen.", "Två filer skulle få samma namn."},
		Text{"Rename one of them; names that differ only in upper and lower case count as the same.",
			"Nimeä toinen uudelleen; nimet, jotka eroavat vain isoissa ja pienissä kirjaimissa, lasketaan samoiksi.",
			"Byt namn på den ena; namn som bara skiljer sig i stora och små bokstäver räknas som samma."})
	def(CodeEntrySymlink, ClassBundle,
		Text{"A symbolic link cannot be sent.", "Symbolista linkkiä ei voi lähettää.", "En symbolisk länk kan inte skickas."},
		Text{"Replace the link with the file it points to, or leave it out.",
			"Korvaa linkki tiedostolla, johon se osoittaa, tai jätä se pois.",
			"Ersätt länken med filen den pekar på, eller lämna bort den."})
	def(CodeZipEncrypted, ClassBundle,
		Text{"The zip is password-protected.", "Zip-paketti on suojattu salasanalla.", "Zip-filen är lösenordsskyddad."},
		Text{"Password-protected zips are not accepted: give siirto the files themselves, or a zip made without a password.",
			"Salasanasuojattuja zip-paketteja ei hyväksytä: anna siirrolle itse tiedostot tai ilman salasanaa tehty zip.",
			"Lösenordsskyddade zip-filer godtas inte: ge siirto själva filerna eller en zip-fil utan lösenord."})
	def(CodeZipInvalid, ClassBundle,
		Text{"The zip file is damaged or not a zip.", "Zip-tiedosto on vioittunut tai se ei ole zip.", "Zip-filen är skadad eller inte en zip-fil."},
		Text{"Make the zip again (or let siirto pack the files) and send it again.",
			"Tee zip uudelleen (tai anna siirron pakata tiedostot) ja lähetä uudelleen.",
			"Skapa zip-filen på nytt (eller låt siirto packa filerna) och skicka igen."})
	def(CodeZipBomb, ClassBundle,
		Text{"The zip expands beyond the allowed limits.", "Zip-paketti purkautuu sallittua suuremmaksi.", "Zip-filen packas upp till mer än tillåtet."},
		Text{"Check the zip's contents; if they are genuine, send them in several bundles or ask the authority to raise the limit.",
			"Tarkista zip-paketin sisältö; jos se on aito, lähetä se useana pakettina tai pyydä viranomaista nostamaan rajaa.",
			"Kontrollera zip-filens innehåll; om det är äkta, skicka det i flera paket eller be myndigheten höja gränsen."})
	def(CodeJournalInvalid, ClassBundle,
		Text{"The journal number is not valid.", "Diaarinumero ei ole kelvollinen.", "Diarienumret är inte giltigt."},
		Text{"Use the journal_number.txt file from your transfer folder as it is; a journal number has only letters, digits, '.', '-' and '/'.",
			"Käytä siirtokansiosi journal_number.txt-tiedostoa sellaisenaan; diaarinumerossa on vain kirjaimia, numeroita sekä merkit '.', '-' ja '/'.",
			"Använd filen journal_number.txt från din överföringsmapp som den är; ett diarienummer har bara bokstäver, siffror och tecknen '.', '-' och '/'."})
	def(CodeJournalMismatch, ClassBundle,
		Text{"The journal number does not match.", "Diaarinumero ei täsmää.", "Diarienumret stämmer inte."},
		Text{"The bundle was made for another permit or folder: encrypt again with the journal_number.txt of this folder, or upload to the folder of the right permit.",
			"Paketti on tehty toiselle luvalle tai kansiolle: salaa uudelleen tämän kansion journal_number.txt-tiedostolla tai lähetä oikean luvan kansioon.",
			"Paketet gjordes för ett annat tillstånd eller en annan mapp: kryptera igen med denna mapps journal_number.txt eller ladda upp till rätt tillstånds mapp."})
	def(CodeJournalFileMissing, ClassBundle,
		Text{"journal_number.txt is missing.", "journal_number.txt puuttuu.", "journal_number.txt saknas."},
		Text{"Download journal_number.txt from your transfer folder and give it with --journal.",
			"Lataa journal_number.txt siirtokansiostasi ja anna se valitsimella --journal.",
			"Ladda ner journal_number.txt från din överföringsmapp och ange den med --journal."})
	def(CodeManifestMissing, ClassBundle,
		Text{"The manifest (.json) is missing.", "Kuvaustiedosto (.json) puuttuu.", "Manifestet (.json) saknas."},
		Text{"Upload the .json file that siirto wrote beside the .c4gh file; it is sent last and marks the bundle complete.",
			"Lähetä .json-tiedosto, jonka siirto kirjoitti .c4gh-tiedoston viereen; se lähetetään viimeisenä ja merkitsee paketin valmiiksi.",
			"Ladda upp .json-filen som siirto skrev bredvid .c4gh-filen; den skickas sist och markerar att paketet är komplett."})
	def(CodeManifestInvalid, ClassBundle,
		Text{"The manifest (.json) is not valid.", "Kuvaustiedosto (.json) ei ole kelvollinen.", "Manifestet (.json) är inte giltigt."},
		Text{"Do not edit the .json file; encrypt the data again with siirto to get a new one.",
			"Älä muokkaa .json-tiedostoa; salaa aineisto uudelleen siirrolla saadaksesi uuden.",
			"Redigera inte .json-filen; kryptera materialet igen med siirto för att få en ny."})
	def(CodeFormatUnsupported, ClassBundle,
		Text{"The bundle format version is not supported.", "Paketin muotoversiota ei tueta.", "Paketets formatversion stöds inte."},
		Text{"Update siirto, or encrypt the data again with the version the authority uses.",
			"Päivitä siirto tai salaa aineisto uudelleen viranomaisen käyttämällä versiolla.",
			"Uppdatera siirto, eller kryptera materialet igen med den version myndigheten använder."})
	def(CodePayloadMissing, ClassBundle,
		Text{"The encrypted file (.c4gh) is missing.", "Salattu tiedosto (.c4gh) puuttuu.", "Den krypterade filen (.c4gh) saknas."},
		Text{"Upload the .c4gh file first and the .json file last.",
			"Lähetä ensin .c4gh-tiedosto ja viimeisenä .json-tiedosto.",
			"Ladda upp .c4gh-filen först och .json-filen sist."})
	def(CodeChecksumMismatch, ClassBundle,
		Text{"A checksum does not match: the data changed after it was encrypted.", "Tarkistussumma ei täsmää: aineisto on muuttunut salauksen jälkeen.", "En kontrollsumma stämmer inte: materialet har ändrats efter krypteringen."},
		Text{"Send the bundle again; if it fails again, encrypt the data anew.",
			"Lähetä paketti uudelleen; jos se epäonnistuu taas, salaa aineisto uudelleen.",
			"Skicka paketet igen; om det misslyckas igen, kryptera materialet på nytt."})
	def(CodeTruncated, ClassBundle,
		Text{"The encrypted file is incomplete.", "Salattu tiedosto on keskeneräinen.", "Den krypterade filen är ofullständig."},
		Text{"The transfer was probably cut off: upload the .c4gh file again, then the .json.",
			"Siirto luultavasti katkesi: lähetä .c4gh-tiedosto uudelleen ja sen jälkeen .json.",
			"Överföringen avbröts troligen: ladda upp .c4gh-filen igen och sedan .json."})
	def(CodeTampered, ClassBundle,
		Text{"The encrypted data has been altered or damaged.", "Salattua aineistoa on muutettu tai se on vioittunut.", "De krypterade uppgifterna har ändrats eller skadats."},
		Text{"Do not use this copy. Send the bundle again from the original; if it happens again, tell the authority.",
			"Älä käytä tätä kopiota. Lähetä paketti uudelleen alkuperäisestä; jos näin käy taas, ilmoita viranomaiselle.",
			"Använd inte denna kopia. Skicka paketet igen från originalet; om det händer igen, meddela myndigheten."})
	def(CodeNotCrypt4GH, ClassBundle,
		Text{"The file is not Crypt4GH-encrypted.", "Tiedosto ei ole Crypt4GH-salattu.", "Filen är inte Crypt4GH-krypterad."},
		Text{"Encrypt the data with siirto (or another Crypt4GH tool) before sending; never upload unencrypted data.",
			"Salaa aineisto siirrolla (tai muulla Crypt4GH-työkalulla) ennen lähettämistä; älä koskaan lähetä salaamatonta aineistoa.",
			"Kryptera materialet med siirto (eller ett annat Crypt4GH-verktyg) innan du skickar det; ladda aldrig upp okrypterat material."})
	def(CodeHeaderInvalid, ClassBundle,
		Text{"The Crypt4GH header is not valid.", "Crypt4GH-otsake ei ole kelvollinen.", "Crypt4GH-huvudet är inte giltigt."},
		Text{"Encrypt the data again with siirto.", "Salaa aineisto uudelleen siirrolla.", "Kryptera materialet igen med siirto."})
	def(CodeUnsupported, ClassBundle,
		Text{"The file uses a Crypt4GH feature siirto does not accept.", "Tiedosto käyttää Crypt4GH-ominaisuutta, jota siirto ei hyväksy.", "Filen använder en Crypt4GH-funktion som siirto inte godtar."},
		Text{"Encrypt the data with siirto, which writes plain Crypt4GH without edit lists.",
			"Salaa aineisto siirrolla, joka kirjoittaa tavallista Crypt4GH:ta ilman muokkauslistoja.",
			"Kryptera materialet med siirto, som skriver vanlig Crypt4GH utan redigeringslistor."})
	def(CodeWrongKey, ClassKey,
		Text{"The data is not encrypted to this key.", "Aineistoa ei ole salattu tälle avaimelle.", "Materialet är inte krypterat för denna nyckel."},
		Text{"Use the secret key that matches the public key the data was encrypted to; the sender must encrypt again to the authority's current public key.",
			"Käytä sitä salaista avainta, joka vastaa salauksessa käytettyä julkista avainta; lähettäjän on salattava uudelleen viranomaisen nykyiselle julkiselle avaimelle.",
			"Använd den hemliga nyckel som hör till den publika nyckel materialet krypterades för; avsändaren måste kryptera igen för myndighetens aktuella publika nyckel."})
	def(CodeRecipientMissing, ClassBundle,
		Text{"The bundle is not encrypted to the expected recipient.", "Pakettia ei ole salattu odotetulle vastaanottajalle.", "Paketet är inte krypterat för den väntade mottagaren."},
		Text{"Encrypt again with the authority's public key (for example csc.pub) as --recipient.",
			"Salaa uudelleen käyttäen viranomaisen julkista avainta (esimerkiksi csc.pub) valitsimella --recipient.",
			"Kryptera igen med myndighetens publika nyckel (till exempel csc.pub) som --recipient."})
	def(CodeSenderMismatch, ClassBundle,
		Text{"The sender key in the manifest does not match the encrypted file.", "Kuvaustiedoston lähettäjäavain ei vastaa salattua tiedostoa.", "Avsändarnyckeln i manifestet stämmer inte med den krypterade filen."},
		Text{"The .json and .c4gh files come from different encryptions: send a matching pair, or encrypt again.",
			"Tiedostot .json ja .c4gh ovat eri salauskerroilta: lähetä yhteen kuuluva pari tai salaa uudelleen.",
			"Filerna .json och .c4gh kommer från olika krypteringar: skicka ett par som hör ihop, eller kryptera igen."})
	def(CodeSenderUnknown, ClassBundle,
		Text{"The bundle was not sealed with a registered sender key.", "Pakettia ei ole sinetöity rekisteröidyllä lähettäjäavaimella.", "Paketet är inte förseglat med en registrerad avsändarnyckel."},
		Text{"Encrypt with --sender-key and the secret key whose public half you registered with the authority.",
			"Salaa valitsimella --sender-key käyttäen salaista avainta, jonka julkisen osan rekisteröit viranomaiselle.",
			"Kryptera med --sender-key och den hemliga nyckel vars publika del du registrerat hos myndigheten."})
	def(CodeListingInvalid, ClassBundle,
		Text{"The list of files inside the bundle is damaged.", "Paketin sisäinen tiedostoluettelo on vioittunut.", "Fillistan i paketet är skadad."},
		Text{"Pack and encrypt the files again with siirto.", "Pakkaa ja salaa tiedostot uudelleen siirrolla.", "Packa och kryptera filerna igen med siirto."})
	def(CodeListingMismatch, ClassBundle,
		Text{"The files in the bundle differ from its list of files.", "Paketin tiedostot eroavat sen tiedostoluettelosta.", "Filerna i paketet skiljer sig från dess fillista."},
		Text{"Pack and encrypt the files again with siirto; do not modify the zip by hand.",
			"Pakkaa ja salaa tiedostot uudelleen siirrolla; älä muokkaa zip-pakettia käsin.",
			"Packa och kryptera filerna igen med siirto; ändra inte zip-filen för hand."})
	def(CodeKeyInvalid, ClassKey,
		Text{"The key file cannot be read.", "Avaintiedostoa ei voi lukea.", "Nyckelfilen kan inte läsas."},
		Text{"Give a Crypt4GH key file: a .pub file for --recipient, a .sec file for --key; siirto keygen makes a pair.",
			"Anna Crypt4GH-avaintiedosto: .pub-tiedosto valitsimelle --recipient ja .sec-tiedosto valitsimelle --key; siirto keygen tekee avainparin.",
			"Ange en Crypt4GH-nyckelfil: en .pub-fil för --recipient och en .sec-fil för --key; siirto keygen skapar ett nyckelpar."})
	def(CodePassphrase, ClassKey,
		Text{"The passphrase is missing or wrong.", "Tunnuslause puuttuu tai on väärä.", "Lösenfrasen saknas eller är fel."},
		Text{"Type the passphrase of the secret key, or give it with SIIRTO_PASSPHRASE or --passphrase-file.",
			"Kirjoita salaisen avaimen tunnuslause tai anna se muuttujalla SIIRTO_PASSPHRASE tai valitsimella --passphrase-file.",
			"Skriv den hemliga nyckelns lösenfras eller ange den med SIIRTO_PASSPHRASE eller --passphrase-file."})
	def(CodeExists, ClassLocal,
		Text{"The output file already exists.", "Tulostiedosto on jo olemassa.", "Utdatafilen finns redan."},
		Text{"Choose another --out folder or name, or add --force to replace it.",
			"Valitse toinen kansio (--out) tai nimi, tai lisää --force korvataksesi sen.",
			"Välj en annan mapp (--out) eller ett annat namn, eller lägg till --force för att ersätta den."})
	def(CodeDiskFull, ClassLocal,
		Text{"There is not enough disk space.", "Levytilaa ei ole tarpeeksi.", "Det finns inte tillräckligt med diskutrymme."},
		Text{"Free some space or choose another folder, then try again.",
			"Vapauta tilaa tai valitse toinen kansio ja yritä uudelleen.",
			"Frigör utrymme eller välj en annan mapp och försök igen."})
	def(CodeIO, ClassLocal,
		Text{"A file could not be read or written.", "Tiedostoa ei voitu lukea tai kirjoittaa.", "En fil kunde inte läsas eller skrivas."},
		Text{"Check that the path exists and that you may read (or write) it.",
			"Tarkista, että polku on olemassa ja että sinulla on oikeus lukea (tai kirjoittaa) sitä.",
			"Kontrollera att sökvägen finns och att du får läsa (eller skriva) den."})
	def(CodeUsage, ClassUsage,
		Text{"The command was not given correctly.", "Komentoa ei annettu oikein.", "Kommandot angavs inte korrekt."},
		Text{"Run the command with --help to see how to use it.",
			"Aja komento valitsimella --help nähdäksesi käyttöohjeen.",
			"Kör kommandot med --help för att se hur det används."})
	def(CodeInterrupted, ClassLocal,
		Text{"The work was interrupted.", "Työ keskeytettiin.", "Arbetet avbröts."},
		Text{"Nothing was left half-written; run the command again.",
			"Mitään ei jäänyt puoliksi kirjoitetuksi; aja komento uudelleen.",
			"Inget lämnades halvskrivet; kör kommandot igen."})
	def(CodeTargetInvalid, ClassUsage,
		Text{"The upload target is not valid.", "Lähetyskohde ei ole kelvollinen.", "Uppladdningsmålet är inte giltigt."},
		Text{"Give the journal folder's address, such as https://server/remote.php/dav/files/USER/FOLDER/ or file:///path/FOLDER/, with no password in it.",
			"Anna diaarikansion osoite, esimerkiksi https://palvelin/remote.php/dav/files/KÄYTTÄJÄ/KANSIO/ tai file:///polku/KANSIO/, ilman salasanaa.",
			"Ange diariemappens adress, till exempel https://server/remote.php/dav/files/ANVÄNDARE/MAPP/ eller file:///sökväg/MAPP/, utan lösenord."})
	def(CodeFolderMissing, ClassRemote,
		Text{"The journal folder does not exist on the server.", "Diaarikansiota ei ole palvelimella.", "Diariemappen finns inte på servern."},
		Text{"Check the address; if it is right, ask the authority to open the folder for your journal number.",
			"Tarkista osoite; jos se on oikein, pyydä viranomaista avaamaan kansio diaarinumerollesi.",
			"Kontrollera adressen; om den stämmer, be myndigheten öppna mappen för ditt diarienummer."})
	def(CodeAuth, ClassRemote,
		Text{"The server refused the user name or password.", "Palvelin ei hyväksynyt käyttäjätunnusta tai salasanaa.", "Servern godtog inte användarnamnet eller lösenordet."},
		Text{"Check the user name and the app password (SIIRTO_PASSWORD or --password-file); in Nextcloud, make an app password under Settings, Security.",
			"Tarkista käyttäjätunnus ja sovellussalasana (SIIRTO_PASSWORD tai --password-file); Nextcloudissa sovellussalasana tehdään kohdassa Asetukset, Turvallisuus.",
			"Kontrollera användarnamnet och applösenordet (SIIRTO_PASSWORD eller --password-file); i Nextcloud skapas ett applösenord under Inställningar, Säkerhet."})
	def(CodeForbidden, ClassRemote,
		Text{"The server does not allow this.", "Palvelin ei salli tätä.", "Servern tillåter inte detta."},
		Text{"You may not write to this folder: check that it is your permit's folder, or ask the authority for access.",
			"Sinulla ei ole kirjoitusoikeutta tähän kansioon: tarkista, että se on lupasi kansio, tai pyydä oikeutta viranomaiselta.",
			"Du får inte skriva i denna mapp: kontrollera att det är ditt tillstånds mapp, eller be myndigheten om behörighet."})
	def(CodeNotFound, ClassRemote,
		Text{"The file is not on the server.", "Tiedostoa ei ole palvelimella.", "Filen finns inte på servern."},
		Text{"Check the name and the folder; the file may not have been uploaded yet.",
			"Tarkista nimi ja kansio; tiedostoa ei ehkä ole vielä lähetetty.",
			"Kontrollera namnet och mappen; filen har kanske inte laddats upp ännu."})
	def(CodeTooLarge, ClassRemote,
		Text{"The server refuses a file this large.", "Palvelin ei hyväksy näin suurta tiedostoa.", "Servern godtar inte en så stor fil."},
		Text{"Split the data into several bundles, or ask the authority about its size limit.",
			"Jaa aineisto useaan pakettiin tai kysy viranomaiselta kokorajoituksesta.",
			"Dela upp materialet i flera paket, eller fråga myndigheten om storleksgränsen."})
	def(CodeLocked, ClassRemote,
		Text{"The file is locked on the server.", "Tiedosto on lukittu palvelimella.", "Filen är låst på servern."},
		Text{"Another program is using it; wait a moment and try again.",
			"Toinen ohjelma käyttää sitä; odota hetki ja yritä uudelleen.",
			"Ett annat program använder den; vänta en stund och försök igen."})
	def(CodeQuota, ClassRemote,
		Text{"The storage quota on the server is exceeded.", "Palvelimen tallennuskiintiö on täynnä.", "Lagringskvoten på servern är överskriden."},
		Text{"Ask the authority for more space, or remove old files from your folder.",
			"Pyydä viranomaiselta lisää tilaa tai poista vanhoja tiedostoja kansiostasi.",
			"Be myndigheten om mer utrymme, eller ta bort gamla filer från din mapp."})
	def(CodeServer, ClassRemote,
		Text{"The server failed.", "Palvelimella tapahtui virhe.", "Servern fick ett fel."},
		Text{"Try again later; if it keeps failing, tell the authority.",
			"Yritä myöhemmin uudelleen; jos virhe toistuu, ilmoita viranomaiselle.",
			"Försök igen senare; om felet kvarstår, meddela myndigheten."})
	def(CodeNetwork, ClassRemote,
		Text{"The server could not be reached.", "Palvelimeen ei saatu yhteyttä.", "Servern kunde inte nås."},
		Text{"Check the address and your network connection, then run the same command again: finished files are not sent twice.",
			"Tarkista osoite ja verkkoyhteys ja aja sama komento uudelleen: valmiita tiedostoja ei lähetetä kahdesti.",
			"Kontrollera adressen och nätverksanslutningen och kör samma kommando igen: färdiga filer skickas inte två gånger."})
	def(CodeUploadMismatch, ClassRemote,
		Text{"The file on the server differs from the one sent.", "Palvelimella oleva tiedosto eroaa lähetetystä.", "Filen på servern skiljer sig från den som skickades."},
		Text{"Run the upload again; if it happens again, tell the authority.",
			"Aja lähetys uudelleen; jos näin käy taas, ilmoita viranomaiselle.",
			"Kör uppladdningen igen; om det händer igen, meddela myndigheten."})
	def(CodeReceiptInvalid, ClassRemote,
		Text{"The receipt cannot be trusted.", "Kuittiin ei voi luottaa.", "Kvittot går inte att lita på."},
		Text{"Do not rely on it: tell the authority, and do not delete your local copies yet.",
			"Älä luota siihen: ilmoita viranomaiselle äläkä vielä poista paikallisia kopioitasi.",
			"Lita inte på det: meddela myndigheten och radera inte dina lokala kopior ännu."})
	def(CodeNoReceipt, ClassRemote,
		Text{"There is no receipt for the bundle yet.", "Paketille ei ole vielä kuittia.", "Det finns ännu inget kvitto för paketet."},
		Text{"The authority's gateway has not processed it yet: wait and ask again, or use --wait.",
			"Viranomaisen yhdyskäytävä ei ole vielä käsitellyt sitä: odota ja kysy uudelleen, tai käytä valitsinta --wait.",
			"Myndighetens gateway har inte behandlat det ännu: vänta och fråga igen, eller använd --wait."})
	def(CodeRejected, ClassBundle,
		Text{"The authority's gateway rejected the bundle.", "Viranomaisen yhdyskäytävä hylkäsi paketin.", "Myndighetens gateway avvisade paketet."},
		Text{"Read the reason in the receipt, fix it, and send the bundle again under a new name.",
			"Lue syy kuitista, korjaa se ja lähetä paketti uudelleen uudella nimellä.",
			"Läs orsaken i kvittot, åtgärda den och skicka paketet igen med ett nytt namn."})
	def(CodeInternal, ClassInternal,
		Text{"Something unexpected went wrong.", "Jotain odottamatonta tapahtui.", "Något oväntat gick fel."},
		Text{"Try again; if it happens again, report it with the message above.",
			"Yritä uudelleen; jos virhe toistuu, ilmoita siitä yllä olevan viestin kanssa.",
			"Försök igen; om det händer igen, rapportera det med meddelandet ovan."})
}
