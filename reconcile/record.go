package reconcile

import (
	"strings"
	"time"

	"github.com/libdns/libdns"

	"github.com/mtasts-sync/mtasts-sync/internal/dane"
	"github.com/mtasts-sync/mtasts-sync/internal/dnstext"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// Record is a DNS record in the form the reconciler reasons about: an
// absolute, lower-case name with its trailing dot, an upper-case type, and a
// value in canonical form (a TXT record's character-strings joined and
// unquoted, a CNAME target absolute and lower-case, a TLSA record's fields
// single-spaced with its hex lower-case). Records enter that form once,
// through Canonical (Ingest for a provider's records), and are compared one
// way, by Same.
type Record struct {
	Name  string
	Type  string
	Value string
	TTL   time.Duration

	// Raw is the record as the provider returned it. Writers need it to
	// delete exactly what is there (some providers match on TTL or an id).
	Raw libdns.Record
}

// IngestOptions say how a provider hands back records.
type IngestOptions struct {
	// PresentationTXT: TXT values come back in zone-file form (quoted,
	// escaped character-strings) and are unquoted here.
	PresentationTXT bool
}

// Ingest converts the records a provider returned for zone (names relative
// to it) into canonical Records: the one step from a provider's record to
// ours.
func Ingest(zone string, recs []libdns.Record, opts IngestOptions) []Record {
	out := make([]Record, 0, len(recs))
	for _, r := range recs {
		rr := r.RR()
		rec := Record{
			Name:  libdns.AbsoluteName(rr.Name, fqdn(zone)),
			Type:  rr.Type,
			Value: rr.Data,
			TTL:   rr.TTL,
			Raw:   r,
		}
		if opts.PresentationTXT && strings.EqualFold(rec.Type, "TXT") {
			rec.Value = dnstext.Unpresent(rec.Value)
		}
		out = append(out, Canonical(rec))
	}
	return out
}

// Canonical returns r in canonical form (see Record). Raw and TTL are kept.
func Canonical(r Record) Record {
	r.Name = fqdn(r.Name)
	r.Type = strings.ToUpper(r.Type)
	switch r.Type {
	case "CNAME":
		r.Value = fqdn(r.Value)
	case "TLSA":
		if c, ok := dane.Canonical(r.Value); ok {
			r.Value = c
		} else {
			r.Value = strings.ToLower(strings.Join(strings.Fields(r.Value), " "))
		}
	}
	return r
}

// Same reports whether a and b are the same record: the one equality of
// records. Names and types must match; TXT values are compared by meaning
// (an STS or TLSRPT record field by field, anything else byte for byte),
// other values as their canonical forms. TTLs do not count.
func Same(a, b Record) bool {
	return a.Name == b.Name && a.Type == b.Type && sameValue(a.Type, a.Value, b.Value)
}

func sameValue(typ, a, b string) bool {
	if a == b {
		return true
	}
	if typ == "TXT" {
		return mtasts.CanonicalTXT(a) == mtasts.CanonicalTXT(b)
	}
	return false
}

// contains reports whether recs holds a record the same as r.
func contains(recs []Record, r Record) bool {
	for _, x := range recs {
		if Same(x, r) {
			return true
		}
	}
	return false
}

// sameSet reports whether a and b hold the same records, each once.
func sameSet(a, b []Record) bool {
	if len(a) != len(b) {
		return false
	}
	for _, r := range a {
		if !contains(b, r) {
			return false
		}
	}
	for _, r := range b {
		if !contains(a, r) {
			return false
		}
	}
	return true
}

// Libdns returns the record as a libdns record relative to zone, ready to
// hand to a provider.
func (r Record) Libdns(zone string) libdns.Record {
	name := libdns.RelativeName(r.Name, fqdn(zone))
	switch r.Type {
	case "TXT":
		return libdns.TXT{Name: name, TTL: r.TTL, Text: r.Value}
	case "CNAME":
		return libdns.CNAME{Name: name, TTL: r.TTL, Target: r.Value}
	}
	return libdns.RR{Name: name, TTL: r.TTL, Type: r.Type, Data: r.Value}
}

// fqdn lower-cases name and gives it exactly one trailing dot.
func fqdn(name string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	return name + "."
}
