package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func hexOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// stagedNotice is a realistic staged notice; seed makes its id unique.
func stagedNotice(seed string) Notice {
	return Notice{
		ID:              hexOf("manifest " + seed),
		Journal:         "THL/1234/14.02.00/2023",
		Folder:          "THL_1234_14.02.00_2023",
		Bundle:          "cohort",
		State:           StateStaged,
		PayloadSize:     1610612736 + 65536,
		PayloadSHA256:   hexOf("payload " + seed),
		PlaintextSize:   1610612736,
		PlaintextSHA256: hexOf("plaintext " + seed),
		Files:           12,
		StagingPath:     "/srv/siirto/staging/THL_1234_14.02.00_2023/cohort",
		Time:            time.Date(2023, 5, 2, 10, 4, 5, 0, time.UTC),
		Gateway:         "gw1",
	}
}

// rejectedNotice is a bundle refused as tampered: no plaintext, nothing staged.
func rejectedNotice(seed string) Notice {
	n := stagedNotice(seed)
	n.State, n.Code = StateRejected, "E_TAMPERED"
	n.PlaintextSize, n.PlaintextSHA256, n.Files, n.StagingPath = 0, "", 0, ""
	return n
}

func TestNoticeValidate(t *testing.T) {
	for _, n := range []Notice{stagedNotice("a"), rejectedNotice("a")} {
		if err := n.Validate(); err != nil {
			t.Errorf("%s: %v", n.State, err)
		}
	}
	bad := map[string]func(*Notice){
		"CR LF in journal":      func(n *Notice) { n.Journal = "THL/1\r\nBcc: x@example.com" },
		"LF in bundle":          func(n *Notice) { n.Bundle = "cohort\nX-Evil: 1" },
		"CR in folder":          func(n *Notice) { n.Folder = "a\rb" },
		"NUL in gateway":        func(n *Notice) { n.Gateway = "gw\x00" },
		"line separator":        func(n *Notice) { n.Bundle = "a\u2028b" },
		"invalid UTF-8":         func(n *Notice) { n.Journal = "\xff" },
		"short id":              func(n *Notice) { n.ID = "abc" },
		"uppercase id":          func(n *Notice) { n.ID = strings.ToUpper(n.ID) },
		"no journal":            func(n *Notice) { n.Journal = "" },
		"no bundle":             func(n *Notice) { n.Bundle = "" },
		"unknown state":         func(n *Notice) { n.State = "done" },
		"code on staged":        func(n *Notice) { n.Code = "E_TAMPERED" },
		"bad checksum":          func(n *Notice) { n.PayloadSHA256 = "xyz" },
		"negative size":         func(n *Notice) { n.PayloadSize = -1 },
		"relative staging path": func(n *Notice) { n.StagingPath = "staging/cohort" },
		"no time":               func(n *Notice) { n.Time = time.Time{} },
	}
	for name, change := range bad {
		n := stagedNotice("a")
		change(&n)
		if err := n.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, n)
		}
	}
	r := rejectedNotice("a")
	r.Code = ""
	if r.Validate() == nil {
		t.Error("a rejected notice without a code was accepted")
	}
	r = rejectedNotice("a")
	r.StagingPath = "/srv/x"
	if r.Validate() == nil {
		t.Error("a rejected notice with a staging path was accepted")
	}
}

func TestNoticeLog(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("notice", "notice", rejectedNotice("a"))
	var line struct {
		Notice map[string]any `json:"notice"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	n := rejectedNotice("a")
	for k, want := range map[string]any{"id": n.ID, "journal": n.Journal, "bundle": n.Bundle, "state": "rejected",
		"code": "E_TAMPERED", "payload_size": float64(n.PayloadSize), "gateway": "gw1"} {
		if line.Notice[k] != want {
			t.Errorf("logged %s = %v, want %v", k, line.Notice[k], want)
		}
	}
	if _, ok := line.Notice["staging_path"]; ok {
		t.Error("a rejected notice logged a staging path")
	}
	if got := stagedNotice("a").DeliveryID(); got != hexOf("manifest a")+".staged" {
		t.Errorf("DeliveryID = %q", got)
	}
}

func TestErrorKinds(t *testing.T) {
	p := permanent(errors.New("x"))
	if !errors.Is(p, ErrPermanent) || !strings.Contains(p.Error(), "permanent") {
		t.Errorf("permanent: %v", p)
	}
	tmp := temporary(errors.New("x"))
	if errors.Is(tmp, ErrPermanent) || !strings.Contains(tmp.Error(), "temporary") {
		t.Errorf("temporary: %v", tmp)
	}
}
