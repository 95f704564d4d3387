package app

import (
	"context"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
)

// Transport is what the app needs from the client: the same code paths as
// siirto send, upload and status. cmd/siirto implements it.
type Transport interface {
	// Connect checks the login and returns the journal folders it
	// reaches: the folder itself when the address names a journal
	// folder, else the journal folders in it.
	Connect(ctx context.Context, l Login) ([]Folder, error)
	// Send packs b's files, encrypts them and uploads the bundle into f
	// in one pass, keeping the encrypted copy in b.Dir. When the upload
	// breaks but the encryption finishes, it returns the manifest with
	// the error, and Upload can resume from the copy.
	Send(ctx context.Context, l Login, f Folder, b Bundle) (manifest []byte, err error)
	// Upload sends the bundle kept in dir (resuming where the store
	// allows) and completes it with its manifest.
	Upload(ctx context.Context, l Login, f Folder, dir, name string, sent func(int64)) error
	// Receipts opens the folder for reading receipts, once per bundle
	// sent: the function it returns is called every poll.
	Receipts(ctx context.Context, l Login, f Folder) (ReadReceipt, error)
	// Encrypt writes the bundle into b.Dir ("encrypt only").
	Encrypt(ctx context.Context, b Bundle) (manifest []byte, err error)
}

// ReadReceipt returns the folder's receipt for the bundle with this
// manifest, or nil when there is none yet.
type ReadReceipt func(ctx context.Context, name string, manifest []byte) (*verify.Receipt, error)

// Target is a transfer service named in siirto's configuration file.
type Target struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	User string `json:"user,omitempty"`
	// HasPassword says the configuration holds the password (a
	// password_file), so the app does not ask for it.
	HasPassword bool `json:"has_password"`
}

// Login is how the user connects: a configured target by name, or an
// address with a user name and password.
type Login struct {
	Target   string
	URL      string
	User     string
	Password string
}

// Folder is a journal folder.
type Folder struct {
	URL     string `json:"url"`
	Name    string `json:"name"`
	Journal string `json:"journal"`
}

// Bundle is what to encrypt, and where the encrypted copy goes.
type Bundle struct {
	Name    string
	Journal string
	Files   []encrypt.Source
	Dir     string
	// Read is called with the plaintext bytes read so far, Sent with the
	// encrypted bytes uploaded so far; either may be nil.
	Read, Sent func(int64)
}
