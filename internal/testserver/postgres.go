package testserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresBinDir is where Debian's postgresql package puts PostgreSQL 15's
// programs; they are not on PATH.
const PostgresBinDir = "/usr/lib/postgresql/15/bin"

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
		if _, err := os.Stat(filepath.Join(PostgresBinDir, prog)); err != nil {
			t.Fatalf("testserver: postgres is not installed (%v): %s", err, postgresHint)
		}
	}
	p := retryPort(t, func() (*PG, error) { return startPG(t) })
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("testserver: stopping postgres: %v", err)
		}
		if t.Failed() {
			t.Logf("testserver: postgres log (%s):\n%s", p.DSN, p.srv.logTail())
		}
		if err := os.RemoveAll(p.Dir); err != nil {
			t.Errorf("testserver: %v", err)
		}
	})
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
	p := &PG{Dir: dir, t: t}
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
	initdb := exec.Command(filepath.Join(PostgresBinDir, "initdb"), "-D", filepath.Join(dir, "data"),
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
		_ = p.stop()
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
	out, err := os.OpenFile(filepath.Join(p.Dir, "logs", "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(filepath.Join(PostgresBinDir, "postgres"), "-D", filepath.Join(p.Dir, "data"),
		"-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(p.Port), "-k", filepath.Join(p.Dir, "run"),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Dir, cmd.Env, cmd.SysProcAttr = p.Dir, pgEnv(), pgProcAttr(p.cred)
	cmd.Stdout, cmd.Stderr = out, out
	s := &server{name: "postgres", dir: p.Dir, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %v", cmd.Path, err)
	}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	p.srv = s
	if err := p.waitReady(); err != nil {
		_ = p.stop()
		if strings.Contains(strings.ToLower(s.logTail()), "already in use") {
			return fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return fmt.Errorf("postgres did not start: %v\n%s", err, s.logTail())
	}
	return nil
}

// waitReady connects until the server answers, it exits, or startWait passes.
func (p *PG) waitReady() error {
	deadline := time.Now().Add(startWait)
	last := errors.New("no answer yet")
	for time.Now().Before(deadline) {
		select {
		case <-p.srv.done:
			return fmt.Errorf("postgres exited: %v", p.srv.err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, p.dsn("postgres"))
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if last = err; err == nil {
			return nil
		}
		select {
		case <-p.srv.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready after %v: %v", startWait, last)
}

// stop shuts the server down the way `pg_ctl -m fast stop` does, by
// SIGINT to the postmaster (pg_ctl would refuse to run as root): open
// sessions are ended rather than waited for. It kills the server if it is
// still running after stopWait.
func (p *PG) stop() error {
	s := p.srv
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
		return nil
	case <-time.After(stopWait):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	return fmt.Errorf("postgres was still running %v after a fast shutdown was asked: killed it", stopWait)
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
	if err := p.stop(); err != nil {
		p.t.Fatalf("testserver: restarting postgres: %v", err)
	}
	if err := p.start(); err != nil {
		p.t.Fatalf("testserver: restarting postgres: %v", err)
	}
}
