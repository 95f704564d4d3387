package gateway

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/gateway/accounts"
	"github.com/siirto/siirto/gateway/audit"
	"github.com/siirto/siirto/inbox"
	"github.com/siirto/siirto/verify"
)

// JournalSpec describes a journal to open.
type JournalSpec struct {
	Number   string   // the journal number, e.g. "THL/1234/14.02.00/2023"
	User     string   // the uploader account; created if new
	Password string   // the new account's password; "" makes one up
	Senders  [][]byte // Crypt4GH public key files of the only accepted senders
	Handlers []string // extra notification addresses for this journal
	Lang     string   // notification language for this journal
}

// JournalResult says what AddJournal made.
type JournalResult struct {
	Folder      string
	NewUser     bool
	Password    string // the made-up password, shown once; "" otherwise
	PublicKey   string // the key uploaders encrypt to
	Fingerprint string
}

// adminActor names the person running an admin command in the audit log.
func adminActor() string {
	if u, err := user.Current(); err == nil {
		return "admin:" + u.Username
	}
	return "admin"
}

// AddJournal opens a journal: its folder in the inbox with
// journal_number.txt and receipt-key.pub, the account and its grant,
// and the registered sender keys.
func (g *Gateway) AddJournal(ctx context.Context, s JournalSpec) (*JournalResult, error) {
	folder, err := verify.FolderName(s.Number)
	if err != nil {
		return nil, err
	}
	var senders []string
	for _, data := range s.Senders {
		pk, err := encrypt.ParsePublicKey(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("sender key: %w", err)
		}
		senders = append(senders, pk.String())
	}
	res := &JournalResult{Folder: folder}
	exists, err := g.accounts.HasUser(ctx, s.User)
	if err != nil {
		return nil, err
	}
	if exists && s.Password != "" {
		return nil, fmt.Errorf("user %s exists already: leave out the password to grant them this journal, or use `user passwd`", s.User)
	}
	if !exists {
		if err := accounts.CheckUserName(s.User); err != nil {
			return nil, err
		}
	}
	rpub, err := os.ReadFile(filepath.Join(g.cfg.keysDir(), ReceiptPubKey))
	if err != nil {
		return nil, err
	}
	// The remote inbox first (a repeat is harmless), so that a journal the
	// accounts know always has its folder; the local inbox always, for the
	// embedded WebDAV.
	fixed := map[string][]byte{verify.JournalFile: []byte(s.Number + "\n"), ReceiptPubKey: rpub}
	remote, err := g.inboxStore(ctx)
	if err != nil {
		return nil, err
	}
	if remote != nil {
		if err := publishJournal(ctx, remote, folder, fixed); err != nil {
			return nil, fmt.Errorf("inbox %s: %w", g.cfg.Inbox.URL, err)
		}
	}
	if err := g.accounts.AddJournal(ctx, accounts.Journal{Folder: folder, Number: s.Number, Handlers: s.Handlers, Lang: s.Lang}); err != nil {
		return nil, err
	}
	local, err := clients.NewLocal(g.cfg.inboxDir())
	if err != nil {
		return nil, err
	}
	if err := publishJournal(ctx, local, folder, fixed); err != nil {
		return nil, err
	}
	for _, k := range senders {
		if err := g.accounts.AddSender(ctx, folder, k); err != nil {
			return nil, err
		}
	}
	if !exists {
		res.NewUser = true
		pw := s.Password
		if pw == "" {
			pw = NewPassword()
			res.Password = pw
		}
		if err := g.accounts.AddUser(ctx, s.User, pw); err != nil {
			return nil, err
		}
	}
	if err := g.accounts.Grant(ctx, s.User, folder); err != nil {
		return nil, err
	}
	res.PublicKey = filepath.Join(g.cfg.keysDir(), KeyPub)
	if pk, err := encrypt.ReadPublicKeyFile(res.PublicKey); err == nil {
		res.Fingerprint = pk.Fingerprint()
	}
	return res, g.Audit(ctx, audit.Entry{Actor: adminActor(), Action: "journal_add", Journal: folder,
		Fields: map[string]string{"number": s.Number, "user": s.User, "new_user": fmt.Sprint(res.NewUser), "senders": fmt.Sprint(len(senders))}})
}

// Journal returns one journal, by its number or its folder name.
func (g *Gateway) Journal(ctx context.Context, s string) (accounts.Journal, error) {
	if j, err := g.accounts.Journal(ctx, s); err == nil {
		return j, nil
	}
	folder, err := verify.FolderName(s)
	if err != nil {
		return accounts.Journal{}, fmt.Errorf("journal %q: %w", s, accounts.ErrNotFound)
	}
	return g.accounts.Journal(ctx, folder)
}

// SetJournalClosed closes a journal to uploads (or reopens it).
func (g *Gateway) SetJournalClosed(ctx context.Context, journal string, closed bool) error {
	j, err := g.Journal(ctx, journal)
	if err != nil {
		return err
	}
	if err := g.accounts.SetClosed(ctx, j.Folder, closed); err != nil {
		return err
	}
	action := "journal_close"
	if !closed {
		action = "journal_reopen"
	}
	return g.Audit(ctx, audit.Entry{Actor: adminActor(), Action: action, Journal: j.Folder})
}

// UserAction changes an account: "add" (with password), "passwd",
// "disable", "enable", "delete", "grant"/"revoke" (with journal).
func (g *Gateway) UserAction(ctx context.Context, action, name, password, journal string) error {
	var err error
	fields := map[string]string{"user": name}
	switch action {
	case "add":
		err = g.accounts.AddUser(ctx, name, password)
	case "passwd":
		err = g.accounts.SetPassword(ctx, name, password)
	case "disable", "enable":
		err = g.accounts.SetDisabled(ctx, name, action == "disable")
	case "delete":
		err = g.accounts.DeleteUser(ctx, name)
	case "grant", "revoke":
		var j accounts.Journal
		if j, err = g.Journal(ctx, journal); err == nil {
			fields["journal"] = j.Folder
			if action == "grant" {
				err = g.accounts.Grant(ctx, name, j.Folder)
			} else {
				err = g.accounts.Revoke(ctx, name, j.Folder)
			}
		}
	default:
		err = fmt.Errorf("unknown user action %q", action)
	}
	if err != nil {
		return err
	}
	return g.Audit(ctx, audit.Entry{Actor: adminActor(), Action: "user_" + action, Fields: fields})
}

// MarkDelivered records that a handler delivered a staged bundle to the
// researcher: its retention period starts now.
func (g *Gateway) MarkDelivered(ctx context.Context, id, by string) (inbox.Record, error) {
	r, err := g.ledger.Delivered(ctx, id, nowUTC())
	if err != nil {
		return r, err
	}
	actor := adminActor()
	if by != "" {
		actor = "staff:" + by
	}
	return r, g.Audit(ctx, audit.Entry{Actor: actor, Action: "delivered", Journal: r.Folder, Bundle: r.ID})
}

// NewPassword makes up a password for an account: 24 random characters.
func NewPassword() string { return randomToken()[:24] }
