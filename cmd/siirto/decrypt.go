package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/siirto/siirto/encrypt"
	"github.com/siirto/siirto/verify"
	"github.com/urfave/cli/v2"
)

func decryptCommand(env *environment) *cli.Command {
	return &cli.Command{
		Name:      "decrypt",
		Usage:     "decrypt a bundle, check every checksum and extract it safely",
		ArgsUsage: "BUNDLE",
		Description: `BUNDLE is NAME.json, NAME.c4gh or NAME. The manifest must be beside the
payload: decrypt checks the payload against it before anything is kept.

By default the zip is written to NAME.zip in the current folder; -o names
another file, and -o - streams it to standard output (then only the
checksums are checked, after the data has passed: a failure shows in the
exit status). --extract DIR unpacks the files into DIR, which must not
exist yet; DIR appears only once every file is written and matches the
bundle's inner list. Zip slip, links, duplicates and zip bombs are refused.

   siirto decrypt --key authority.sec --extract received/ cohort.json
   SIIRTO_PASSPHRASE_FILE=/run/secrets/pass siirto decrypt -k a.sec -o - x.json | sha256sum`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Aliases: []string{"k"}, Usage: "secret key `FILE`", EnvVars: []string{"SIIRTO_KEY"}, Required: true},
			&cli.StringFlag{Name: "passphrase-file", Usage: "read the key's passphrase from `FILE`", EnvVars: []string{"SIIRTO_PASSPHRASE_FILE"}},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the decrypted zip to `FILE` (- for standard output)"},
			&cli.StringFlag{Name: "extract", Aliases: []string{"x"}, Usage: "extract the files into `DIR` (must not exist)"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing output file"},
			&cli.IntFlag{Name: "workers", Usage: "`N` goroutines that decrypt (default: one per CPU)", EnvVars: []string{"SIIRTO_WORKERS"}},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError{fmt.Errorf("decrypt takes one BUNDLE, got %d arguments", c.NArg())}
			}
			if c.String("output") != "" && c.String("extract") != "" {
				return usageError{fmt.Errorf("give either --output or --extract, not both")}
			}
			bundles, err := findBundles(c.Args().First())
			if err != nil {
				return err
			}
			if len(bundles) != 1 {
				return usageError{fmt.Errorf("%s holds %d bundles; name one", c.Args().First(), len(bundles))}
			}
			lb := bundles[0]
			key, err := env.loadSecretKey(c.Context, c.String("key"), c.String("passphrase-file"))
			if err != nil {
				return err
			}
			vb, closer, err := lb.open(false)
			if err != nil {
				return err
			}
			defer closer.Close()
			opts := verify.Options{Key: key, Engine: &encrypt.Options{Workers: c.Int("workers")}}
			bar := env.newProgress("progress.decrypt", vb.PayloadSize)
			vb.Payload = counting(vb.Payload, vb.PayloadSize, bar.Set)

			switch out := c.String("output"); {
			case out == "-":
				// Hidden behind a plain Writer: standard output may be an
				// *os.File, but a pipe or /dev/null cannot be read back as a zip.
				opts.Plaintext = struct{ io.Writer }{env.stdout}
				_, err := verify.Check(c.Context, vb, opts)
				bar.Finish()
				return err // stdout carries the data, so no summary
			case c.String("extract") != "":
				dir := c.String("extract")
				opts.ExtractTo = dir
				// The files are extracted as the payload is decrypted; a
				// zip that cannot be (a huge central directory) waits
				// decrypted beside DIR, not in a shared temp folder, so
				// plaintext stays where the user chose to put it.
				if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o700); err != nil {
					return err
				}
				opts.WorkDir = filepath.Dir(filepath.Clean(dir))
				res, err := verify.Check(c.Context, vb, opts)
				bar.Finish()
				if err != nil {
					return err
				}
				var total int64
				for _, f := range res.Files {
					total += f.Size
				}
				return env.result(map[string]any{"ok": true, "extracted": dir, "files": len(res.Files), "bytes": total, "bundle": res.Manifest},
					fmt.Sprintf(text("decrypt.extracted", env.lang), lb.name, len(res.Files), size(total), dir))
			default:
				if out == "" {
					out = lb.name + ".zip"
				}
				res, err := decryptToFile(c, vb, opts, out)
				bar.Finish()
				if err != nil {
					return err
				}
				return env.result(map[string]any{"ok": true, "output": out, "bytes": res.Manifest.Plaintext.Size, "bundle": res.Manifest},
					fmt.Sprintf(text("decrypt.done", env.lang), lb.name, size(res.Manifest.Plaintext.Size), out))
			}
		},
	}
}

// decryptToFile decrypts into a private temporary file beside out and
// publishes it under out only when every check passed.
func decryptToFile(c *cli.Context, vb verify.Bundle, opts verify.Options, out string) (*verify.Result, error) {
	if _, err := os.Lstat(out); err == nil && !c.Bool("force") {
		return nil, verify.Errorf(verify.CodeExists, "%s already exists", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".part-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	defer tmp.Close()
	opts.Plaintext = tmp
	res, err := verify.Check(c.Context, vb, opts)
	if err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	return res, encrypt.Publish(tmp.Name(), out, c.Bool("force"))
}

// countingReader reports bytes read to fn (a progress bar).
type countingReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.fn(c.n)
	return n, err
}

// countingReaderAt is countingReader for a payload also read at offsets,
// as extraction while decrypting does (the zip's end first, then all of
// it). Progress is the stretch read from the start without a gap, so a
// jump to the end does not fill the bar, and a Read from the start after
// a ReadAt of the header does not count the header twice.
type countingReaderAt struct {
	countingReader
	ra  io.ReaderAt
	pos int64 // where Read is
}

func (c *countingReaderAt) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.pos += int64(n)
	c.advance(0, c.pos)
	return n, err
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.ra.ReadAt(p, off)
	c.advance(off, off+int64(n))
	return n, err
}

// advance extends the progress by [from, to) if it joins what was read.
func (c *countingReaderAt) advance(from, to int64) {
	if from <= c.n && to > c.n {
		c.n = to
		c.fn(c.n)
	}
}

// counting wraps a payload to report progress, keeping ReadAt if it has it.
func counting(r io.Reader, size int64, fn func(int64)) io.Reader {
	if ra, ok := r.(io.ReaderAt); ok && size >= 0 {
		return &countingReaderAt{countingReader: countingReader{r: r, fn: fn}, ra: ra}
	}
	return &countingReader{r: r, fn: fn}
}
