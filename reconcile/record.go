package reconcile

import (
	"strings"
	"time"

	"github.com/libdns/libdns"
)

// Record is a DNS record in the form the reconciler reasons about: an
// absolute, lower-case name with its trailing dot, an upper-case type, and a
// value in unquoted form (a TXT record's character-strings joined, a CNAME
// target absolute and lower-case).
type Record struct {
	Name  string
	Type  string
	Value string
	TTL   time.Duration

	// Raw is the record as the provider returned it. Writers need it to
	// delete exactly what is there (some providers match on TTL or an id).
	Raw libdns.Record
}

// FromLibdns converts the records a provider returned for zone (names
// relative to it) into Records.
func FromLibdns(zone string, recs []libdns.Record) []Record {
	out := make([]Record, 0, len(recs))
	for _, r := range recs {
		rr := r.RR()
		rec := Record{
			Name:  fqdn(libdns.AbsoluteName(rr.Name, fqdn(zone))),
			Type:  strings.ToUpper(rr.Type),
			Value: rr.Data,
			TTL:   rr.TTL,
			Raw:   r,
		}
		if rec.Type == "CNAME" {
			rec.Value = fqdn(rec.Value)
		}
		out = append(out, rec)
	}
	return out
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
