package gateway

import (
	"bytes"
	"context"
	"fmt"
	"path"

	"github.com/siirto/siirto/clients"
)

// inboxStore opens the remote inbox, or returns nil for DIR/inbox.
func (g *Gateway) inboxStore(ctx context.Context) (clients.Store, error) {
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

// publishJournal writes a journal folder's fixed files into store
// (each through a temp name, synced and renamed by the store).
func publishJournal(ctx context.Context, store clients.Store, folder string, files map[string][]byte) error {
	if err := store.Mkdir(ctx, folder); err != nil {
		return err
	}
	for name, data := range files {
		if err := store.Put(ctx, path.Join(folder, name), bytes.NewReader(data), int64(len(data))); err != nil {
			return err
		}
	}
	return nil
}
