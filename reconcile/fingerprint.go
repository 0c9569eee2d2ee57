package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// Fingerprint is a short, stable digest of a set of records by meaning
// (Same): order, TTLs and spellings that mean the same record do not
// change it. A saved plan keeps one per name it touches.
func Fingerprint(recs []Record) string {
	lines := make([]string, 0, len(recs))
	for _, r := range recs {
		if dnssecTypes[r.Type] {
			continue
		}
		v := r.Value
		if r.Type == "TXT" {
			v = mtasts.CanonicalTXT(v)
		}
		lines = append(lines, r.Name+"\x00"+r.Type+"\x00"+v)
	}
	sort.Strings(lines)
	return FingerprintBytes([]byte(strings.Join(lines, "\n")))
}

// FingerprintBytes is the digest of some bytes (a policy file), in the
// form Fingerprint uses: "sha256:" and hex.
func FingerprintBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// At returns the records of recs at name.
func At(recs []Record, name string) []Record {
	var out []Record
	for _, r := range recs {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

// Touched returns the names the zone plan would write, sorted.
func (z ZonePlan) Touched() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range z.Changes {
		if c.Applies() && !seen[c.Name] {
			seen[c.Name] = true
			out = append(out, c.Name)
		}
	}
	sort.Strings(out)
	return out
}

// After returns what the plan's applying changes leave at name when
// applied to before: the records they remove gone, the ones they write
// there. A saved plan uses it to tell "already applied" from "changed".
func (z ZonePlan) After(before []Record, name string) []Record {
	out := append([]Record(nil), before...)
	for _, c := range z.Changes {
		if !c.Applies() || c.Name != name {
			continue
		}
		var kept []Record
		for _, r := range out {
			if !contains(c.Have, r) {
				kept = append(kept, r)
			}
		}
		out = append(kept, c.Want...)
	}
	return out
}
