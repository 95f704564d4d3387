package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// report is what a benchmark run prints, as a table or as JSON.
type report struct {
	Size       int64    `json:"size"`
	Runs       int      `json:"runs"`
	Workers    int      `json:"workers"`
	GOMAXPROCS int      `json:"gomaxprocs"`
	Go         string   `json:"go"`
	Results    []result `json:"results"`
	Ratios     []ratio  `json:"ratios"`
	Notes      []string `json:"notes"`
}

// result is one contender's best run. Bytes are plaintext bytes; GBps is
// decimal, 1e9 bytes per second.
type result struct {
	Name    string  `json:"name"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	GBps    float64 `json:"gb_per_s"`
}

// ratio is siirto's throughput over another contender's, with its target.
type ratio struct {
	Name   string  `json:"name"`
	Of     string  `json:"of"`
	Over   string  `json:"over"`
	Value  float64 `json:"value"`
	Target float64 `json:"target"`
	Meets  bool    `json:"meets_target"`
}

// targets are the project's performance targets, as ratios so that they
// hold on any machine: each is the least acceptable value of Of/Over.
var targets = []ratio{
	{Name: "encrypt/baseline", Of: nameEncrypt, Over: nameWriter, Target: 4.0},
	{Name: "encrypt/ceiling", Of: nameEncrypt, Over: nameCeiling, Target: 0.75},
	{Name: "decrypt/library-reader", Of: nameDecrypt, Over: nameReader, Target: 4.0},
	// Info ratios (no target): how close each pipeline comes to what the
	// cores can do. Opening a segment costs what sealing it does, so the
	// one ceiling serves both directions.
	{Name: "info: engine/ceiling", Of: nameEngine, Over: nameCeiling},
	{Name: "info: decrypt/ceiling", Of: nameDecrypt, Over: nameCeiling},
}

// notes explain what the figures include, for whoever reads the table.
var notes = []string{
	"GB/s is decimal (1e9 bytes per second) of plaintext; each figure is the best of the runs.",
	"The ceiling is ChaCha20-Poly1305 sealing plus both SHA-256 passes (plaintext and ciphertext) on every core, with no I/O.",
	"Every file contender ran right after a read of its input, so all found it in the page cache.",
	"siirto encrypt and the baseline both write their output to disk and fsync it at the end.",
	"The info rows have no target: the engine alone (siirto encrypt without its output file) and the bare disk (copy, then fsync) show where siirto encrypt's time goes.",
	"The readers discard the plaintext; both compute both SHA-256 sums and check them.",
}

// rate fills in the ratios from the results.
func (r *report) rate() {
	gbps := map[string]float64{}
	for _, res := range r.Results {
		gbps[res.Name] = res.GBps
	}
	for _, t := range targets {
		t.Value = gbps[t.Of] / gbps[t.Over]
		t.Meets = t.Value >= t.Target // always true for info ratios (target 0)
		r.Ratios = append(r.Ratios, t)
	}
	r.Notes = notes
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeText(w io.Writer) error {
	runs := "1 run"
	if r.Runs > 1 {
		runs = fmt.Sprintf("best of %d runs", r.Runs)
	}
	fmt.Fprintf(w, "siirto-bench: %s input (%.2f GB), %s, %d workers, GOMAXPROCS %d, %s\n\n",
		formatSize(r.Size), float64(r.Size)/1e9, runs, r.Workers, r.GOMAXPROCS, r.Go)
	// Names on the left, numbers on the right: tabwriter aligns a whole
	// table one way, so this one is laid out by hand.
	width := len("contender")
	for _, res := range r.Results {
		width = max(width, utf8.RuneCountInString(res.Name))
	}
	fmt.Fprintf(w, "%s%s %14s %9s %8s\n", "contender", strings.Repeat(" ", width-len("contender")), "bytes", "seconds", "GB/s")
	for _, res := range r.Results {
		pad := strings.Repeat(" ", width-utf8.RuneCountInString(res.Name))
		fmt.Fprintf(w, "%s%s %14d %9.3f %8.3f\n", res.Name, pad, res.Bytes, res.Seconds, res.GBps)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "ratio\tvalue\ttarget\tresult")
	missed, targeted := 0, 0
	for _, t := range r.Ratios {
		if t.Target == 0 {
			fmt.Fprintf(tw, "%s\t%.2f\t-\t-\n", t.Name, t.Value)
			continue
		}
		targeted++
		verdict := "meets target"
		if !t.Meets {
			verdict = "BELOW target"
			missed++
		}
		fmt.Fprintf(tw, "%s\t%.2f\t≥ %.2f\t%s\n", t.Name, t.Value, t.Target, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if missed > 0 {
		fmt.Fprintf(w, "\nMISSED: %d of %d throughput targets (%s)\n", missed, targeted, strings.Join(r.missedNames(), ", "))
	}
	return nil
}

func (r *report) missedNames() []string {
	var names []string
	for _, t := range r.Ratios {
		if !t.Meets {
			names = append(names, t.Name)
		}
	}
	return names
}
