package testserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresBinDir is where Debian's postgresql package puts the programs
// of its PostgreSQL (15 on Debian 12, 17 on Debian 13), which are not on
// PATH: the newest version there.
func postgresBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestV := "/usr/lib/postgresql/15/bin", 0
	for _, d := range dirs {
		if v, err := strconv.Atoi(filepath.Base(filepath.Dir(d))); err == nil && v > bestV {
			best, bestV = d, v
		}
	}
	return best
}

// osUser is who PostgreSQL runs as.
type osUser struct{ uid, gid uint32 }

const postgresHint = "run `bash scripts/services/install.sh` as root (make test does), which installs Debian's postgresql"

// PG is a private, throwaway PostgreSQL cluster for one test: its own data
// folder, a free port on 127.0.0.1, trust authentication for the
// superuser postgres, and fsync off (nothing here must survive a power
// cut). Its server process is a child of the test, so it dies with the
// test binary even when cleanup never runs.
type PG struct {
	// DSN connects to the test's database, siirto, as the superuser:
	// postgres://postgres@127.0.0.1:PORT/siirto?sslmode=disable.
	DSN  string
	Port int
	Dir  string // the cluster's folder: data/, run/ (the socket), logs/

	t    testing.TB
	cred *osUser // the postgres OS user when the test runs as root; nil otherwise
	srv  *server
}

// Postgres starts a PostgreSQL 15 cluster for the test (initdb, then the
// server on a free port) with an empty database siirto, stopped and
// removed by t.Cleanup. A test running as root (initdb refuses root) runs
// the cluster as the postgres OS user. With -short it skips; when
// PostgreSQL is not installed it fails the test, naming
// scripts/services/install.sh.
func Postgres(t testing.TB) *PG {
	t.Helper()
	if testing.Short() {
		t.Skip("testserver: postgres is an integration server; skipped with -short")
	}
	for _, prog := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(postgresBinDir(), prog)); err != nil {
			t.Fatalf("testserver: postgres is not installed (%v): %s", err, postgresHint)
		}
	}
	p := retryPort(t, func() (*PG, error) { return startPG(t) })
	p.srv.stopAtCleanup(t, p.DSN)
	return p
}

// startPG makes the cluster in a fresh folder and starts it; a folder
// whose start failed is removed.
func startPG(t testing.TB) (_ *PG, err error) {
	base := os.TempDir()
	if !traversable(base) {
		base = "/tmp" // the postgres user must reach the folder
	}
	dir, err := os.MkdirTemp(base, "siirto-postgres-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	// A fast shutdown, as `pg_ctl -m fast stop` asks for (pg_ctl would
	// refuse to run as root): open sessions are ended, not waited for.
	p := &PG{Dir: dir, t: t, srv: &server{name: "postgres", dir: dir, stopSignal: syscall.SIGINT}}
	for _, d := range []string{"logs", "run"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	if os.Geteuid() == 0 {
		uid, gid, err := lookupUser("postgres")
		if err != nil {
			return nil, fmt.Errorf("postgres: initdb refuses root, and there is no postgres user to run it as (%v): %s", err, postgresHint)
		}
		p.cred = &osUser{uid: uint32(uid), gid: uint32(gid)}
		for _, d := range []string{"", "logs", "run"} {
			if err := os.Chown(filepath.Join(dir, d), uid, gid); err != nil {
				return nil, err
			}
		}
	}
	// --no-sync: a throwaway cluster need not wait for its files to reach the disk.
	initdb := exec.Command(filepath.Join(postgresBinDir(), "initdb"), "-D", filepath.Join(dir, "data"),
		"-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	initdb.Dir, initdb.Env, initdb.SysProcAttr = dir, pgEnv(), pgProcAttr(p.cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("postgres: initdb: %v\n%s", err, out)
	}
	if p.Port, err = freePort(); err != nil {
		return nil, err
	}
	if err := p.start(); err != nil {
		return nil, err
	}
	if err := p.admin(`CREATE DATABASE siirto`); err != nil {
		_ = p.srv.stop()
		return nil, err
	}
	p.DSN = p.dsn("siirto")
	return p, nil
}

// pgEnv is the environment without the PG* variables, so a developer's
// PGHOST or PGDATA cannot point the cluster elsewhere.
func pgEnv() []string { return envWithout("PG") }

func (p *PG) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// start runs the server on the data folder and waits until it takes
// connections. Its output is appended to logs/stderr.log, so a restart
// keeps the earlier log.
func (p *PG) start() error {
	cmd := exec.Command(filepath.Join(postgresBinDir(), "postgres"), "-D", filepath.Join(p.Dir, "data"),
		"-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(p.Port), "-k", filepath.Join(p.Dir, "run"),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Env, cmd.SysProcAttr = pgEnv(), pgProcAttr(p.cred)
	if err := p.srv.start(cmd); err != nil {
		return err
	}
	if err := p.srv.waitFor(p.ready); err != nil {
		return p.srv.failed(err)
	}
	return nil
}

// ready is a probe: a connection to the postgres database answers a ping.
func (p *PG) ready() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.dsn("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// admin runs one statement as the superuser in the postgres database.
func (p *PG) admin(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startWait)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.dsn("postgres"))
	if err != nil {
		return fmt.Errorf("postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("postgres: %s: %v", sql, err)
	}
	return nil
}

// NewDatabase creates another empty database in the cluster and returns
// its DSN: tests that each need a fresh ledger share one cluster (a start
// takes about a second, a database a few milliseconds).
func (p *PG) NewDatabase() string {
	p.t.Helper()
	name := "t_" + randomHex(p.t, 6)
	if err := p.admin(`CREATE DATABASE ` + name); err != nil {
		p.t.Fatalf("testserver: %v", err)
	}
	return p.dsn(name)
}

// Restart stops the server (a fast shutdown, ending every open session)
// and starts it again on the same data folder and port, so DSNs stay
// valid: for testing that clients reconnect. It fails the test if the
// server does not come back, so call it from the test's goroutine.
func (p *PG) Restart() {
	p.t.Helper()
	if err := p.srv.stop(); err != nil {
		p.t.Fatalf("testserver: restarting postgres: %v", err)
	}
	if err := p.start(); err != nil {
		p.t.Fatalf("testserver: restarting postgres: %v", err)
	}
}
