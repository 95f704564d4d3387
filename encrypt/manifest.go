package encrypt

import (
	"encoding/hex"
	"encoding/json"
	"time"
)

// Format is the bundle format version this package writes; see
// docs/bundle-format.md, which is the contract.
const Format = "siirto/1"

// ListingFormat versions the inner listing.
const ListingFormat = "siirto-listing/1"

// ListingName is the path of the listing entry inside the zip. It is the
// last entry, and the .siirto/ prefix is reserved for it.
const ListingName = ".siirto/listing.json"

// Manifest is the outer, unencrypted description of a bundle. It holds no
// personal data and no inner file names.
type Manifest struct {
	Format        string      `json:"format"`
	JournalNumber string      `json:"journal_number"`
	Created       time.Time   `json:"created"`
	Tool          Tool        `json:"tool"`
	Payload       FileSums    `json:"payload"`
	Plaintext     FileSums    `json:"plaintext"`
	Recipients    []Recipient `json:"recipients"`
	Sender        Sender      `json:"sender"`
	// Listing is true when the zip ends with the inner listing entry
	// (siirto packed the files); false for a ready zip given as-is.
	Listing bool `json:"listing"`
}

// Tool names the program that wrote a bundle.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// FileSums names a file and gives its size and SHA-256 (lower-case hex).
type FileSums struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Recipient identifies a public key the payload is encrypted to.
type Recipient struct {
	Fingerprint string `json:"fingerprint"`
}

// Sender is the Crypt4GH writer key that sealed the header packets.
type Sender struct {
	// PublicKey is base64, as inside a .pub file.
	PublicKey string `json:"public_key"`
	// Ephemeral is true when the key was made for this bundle only, so it
	// proves nothing about who sent it.
	Ephemeral bool `json:"ephemeral"`
}

// Listing is the inner list of files, carried inside the encrypted zip.
type Listing struct {
	Format string       `json:"format"`
	Files  []ListedFile `json:"files"`
}

// ListedFile is one file of the listing.
type ListedFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Marshal returns the manifest as indented JSON with a final newline.
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

func sumsOf(name string, s Sums) FileSums {
	return FileSums{Name: name, Size: s.Size, SHA256: hex.EncodeToString(s.SHA256[:])}
}
