package gateway

import (
	"bytes"
	"context"
	"fmt"
	"path"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/inbox"
)

// inboxStore opens the remote inbox, or returns nil for DIR/inbox.
func (g *Gateway) inboxStore(ctx context.Context) (inbox.Store, error) {
	c := g.cfg.Inbox
	if c.URL == "" {
		return nil, nil
	}
	o := clients.OpenOptions{S3: clients.S3Options{Endpoint: c.Endpoint, Region: c.Region, Profile: c.Profile}}
	o.User = c.User
	if c.PasswordFile != "" {
		pw, err := readSecret(g.cfg.path(c.PasswordFile))
		if err != nil {
			return nil, fmt.Errorf("inbox password: %w", err)
		}
		o.Password = pw
	}
	s, err := clients.OpenWith(ctx, c.URL, o)
	if err != nil {
		return nil, fmt.Errorf("inbox %s: %w", c.URL, err)
	}
	return s, nil
}

// publishJournal writes a journal folder's fixed files into the remote
// inbox too (the local folder always gets them, for the embedded WebDAV).
func (g *Gateway) publishJournal(ctx context.Context, folder string, files map[string][]byte) error {
	s, err := g.inboxStore(ctx)
	if err != nil || s == nil {
		return err
	}
	store := s.(clients.Store)
	if err := store.Mkdir(ctx, folder); err != nil {
		return fmt.Errorf("inbox %s: %w", g.cfg.Inbox.URL, err)
	}
	for name, data := range files {
		if err := store.Put(ctx, path.Join(folder, name), bytes.NewReader(data), int64(len(data))); err != nil {
			return fmt.Errorf("inbox %s: %w", g.cfg.Inbox.URL, err)
		}
	}
	return nil
}
