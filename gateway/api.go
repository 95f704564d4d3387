package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/siirto/siirto/gateway/accounts"
	"github.com/siirto/siirto/inbox"
)

// BundleJSON is a bundle in the staff API and in `bundle list --json`.
type BundleJSON struct {
	ID              string    `json:"id"`
	Journal         string    `json:"journal"`
	Folder          string    `json:"folder"`
	Name            string    `json:"name"`
	State           string    `json:"state"`
	Outcome         string    `json:"outcome,omitempty"`
	Code            string    `json:"code,omitempty"`
	PayloadSize     int64     `json:"payload_size"`
	PayloadSHA256   string    `json:"payload_sha256,omitempty"`
	PlaintextSize   int64     `json:"plaintext_size,omitempty"`
	PlaintextSHA256 string    `json:"plaintext_sha256,omitempty"`
	Files           int       `json:"files,omitempty"`
	Staging         string    `json:"staging,omitempty"`
	Detected        time.Time `json:"detected"`
	Updated         time.Time `json:"updated"`
	Delivered       time.Time `json:"delivered,omitzero"`
	Purged          time.Time `json:"purged,omitzero"`
}

// ToJSON converts a ledger record.
func ToJSON(r inbox.Record) BundleJSON {
	return BundleJSON{ID: r.ID, Journal: r.Journal, Folder: r.Folder, Name: r.Name, State: string(r.State), Outcome: r.Outcome,
		Code: r.Code, PayloadSize: r.PayloadSize, PayloadSHA256: r.PayloadSHA256, PlaintextSize: r.PlaintextSize,
		PlaintextSHA256: r.PlaintextSHA256, Files: r.Files, Staging: r.Staging, Detected: r.DetectedAt, Updated: r.UpdatedAt,
		Delivered: r.DeliveredAt, Purged: r.PurgedAt}
}

// api mounts the read-only staff API:
//
//	GET /api/v1/journals/{journal}/bundles   (journal number URL-escaped, or its folder name)
//	GET /api/v1/bundles/{id}
func (s *server) api(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/journals/{journal}/bundles", s.staffOnly(func(w http.ResponseWriter, r *http.Request) {
		j, err := s.g.Journal(r.Context(), r.PathValue("journal"))
		if errors.Is(err, accounts.ErrNotFound) {
			http.Error(w, "no such journal", http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, "the accounts do not answer", http.StatusServiceUnavailable)
			return
		}
		folder := j.Folder
		recs, err := s.g.ledger.List(r.Context(), folder)
		if err != nil {
			http.Error(w, "the ledger does not answer", http.StatusServiceUnavailable)
			return
		}
		out := make([]BundleJSON, 0, len(recs))
		for _, rec := range recs {
			out = append(out, ToJSON(rec))
		}
		writeJSON(w, map[string]any{"journal_folder": folder, "bundles": out})
	}))
	mux.HandleFunc("GET /api/v1/bundles/{id}", s.staffOnly(func(w http.ResponseWriter, r *http.Request) {
		rec, err := s.g.ledger.Get(r.Context(), r.PathValue("id"))
		if errors.Is(err, inbox.ErrNotFound) {
			http.Error(w, "no such bundle", http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, "the ledger does not answer", http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, ToJSON(rec))
	}))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
