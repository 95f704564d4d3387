package gateway

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/siirto/siirto/clients"
	"github.com/siirto/siirto/encrypt"
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

// stagingStore opens the staging store and reads the handlers' keys, or
// returns nil for DIR/staging. url is the store's URL ending in "/".
func (g *Gateway) stagingStore(ctx context.Context) (store clients.Store, recipients []encrypt.PublicKey, url string, err error) {
	c := g.cfg.Staging
	if c.URL == "" {
		return nil, nil, "", nil
	}
	for _, f := range c.Recipients {
		pk, err := encrypt.ReadPublicKeyFile(g.cfg.path(f))
		if err != nil {
			return nil, nil, "", fmt.Errorf("staging recipient: %w", err)
		}
		recipients = append(recipients, pk)
	}
	url = strings.TrimSuffix(c.URL, "/") + "/"
	store, err = clients.OpenWith(ctx, url, clients.OpenOptions{S3: clients.S3Options{Endpoint: c.Endpoint, Region: c.Region, Profile: c.Profile}})
	if err != nil {
		return nil, nil, "", fmt.Errorf("staging %s: %w", c.URL, err)
	}
	return store, recipients, url, nil
}
