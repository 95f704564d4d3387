package main

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1000000": 1000000,
		"1GiB":    1 << 30,
		"4GiB":    4 << 30,
		"256MiB":  256 << 20,
		"512mib":  512 << 20,
		"1.5GiB":  3 << 29,
		"500MB":   500e6,
		"2 GB":    2e9,
		"64K":     64 << 10,
		"10B":     10,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1MiB", "0", "1XB", "NaN", "Inf", "2PiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for in, want := range map[int64]string{
		1 << 30:   "1 GiB",
		256 << 20: "256 MiB",
		1000000:   "976.6 KiB",
		10:        "10 B",
	} {
		if got := formatSize(in); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", in, got, want)
		}
	}
}
