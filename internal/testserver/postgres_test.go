package testserver

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestPostgres writes a row on a fresh cluster, restarts the server, and
// reads the row back over a new connection on the same DSN.
func TestPostgres(t *testing.T) {
	pg := Postgres(t)
	ctx := context.Background()
	query := func(sql string, dest ...any) {
		t.Helper()
		conn, err := pgx.Connect(ctx, pg.DSN)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer conn.Close(ctx)
		if len(dest) == 0 {
			_, err = conn.Exec(ctx, sql)
		} else {
			err = conn.QueryRow(ctx, sql).Scan(dest...)
		}
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	query(`CREATE TABLE kept (v text)`)
	query(`INSERT INTO kept VALUES ('hello')`)
	var version string
	query(`SHOW server_version`, &version)
	if version[:3] != "15." {
		t.Errorf("server_version %q; want PostgreSQL 15", version)
	}
	pg.Restart()
	var v string
	query(`SELECT v FROM kept`, &v)
	if v != "hello" {
		t.Fatalf("after a restart: %q; want hello", v)
	}
	other := pg.NewDatabase()
	if other == pg.DSN {
		t.Fatal("NewDatabase returned the test's own DSN")
	}
	conn, err := pgx.Connect(ctx, other)
	if err != nil {
		t.Fatalf("connect to a new database: %v", err)
	}
	conn.Close(ctx)
}
