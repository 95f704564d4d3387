// Package pgdb opens PostgreSQL for the gateway's stores (the ledger and
// the accounts), with one pool policy for both.
package pgdb

import (
	"database/sql"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Open returns a database/sql pool on the PostgreSQL database at dsn (a
// URL or key=value connection string). As pgxpool's defaults: bounded,
// so that many workers stay under the server's max_connections and a
// burst waits for a connection instead; kept open between calls
// (database/sql keeps only 2 idle by default, and a new connection costs
// far more than a query); recycled now and then. The pool reconnects by
// itself after the server restarts.
func Open(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	n := max(4, runtime.NumCPU())
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(time.Hour)
	db.SetConnMaxIdleTime(30 * time.Minute)
	return db, nil
}
