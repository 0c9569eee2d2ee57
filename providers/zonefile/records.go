package zonefile

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"
)

func (z *zoneData) appendRecords(recs []libdns.Record) ([]dns.RR, error) {
	var added []dns.RR
	for _, rec := range recs {
		rr, err := z.toDNS(rec.RR())
		if err != nil {
			return nil, err
		}
		if z.contains(rr) {
			continue
		}
		z.records = append(z.records, rr)
		added = append(added, rr)
	}
	return added, z.checkCNAMEs(added)
}

type rrsetKey struct {
	name  string // lower-case FQDN
	rtype uint16
}

func keyOf(rr dns.RR) rrsetKey {
	h := rr.Header()
	return rrsetKey{name: strings.ToLower(h.Name), rtype: h.Rrtype}
}

func (z *zoneData) setRecords(recs []libdns.Record) ([]dns.RR, error) {
	// Convert everything first: a zero TTL takes the TTL of the RRset being
	// replaced, which must still be in the zone to be found.
	converted := make([]dns.RR, 0, len(recs))
	replaced := make(map[rrsetKey]bool)
	for _, rec := range recs {
		rr, err := z.toDNS(rec.RR())
		if err != nil {
			return nil, err
		}
		converted = append(converted, rr)
		replaced[keyOf(rr)] = true
	}

	kept := z.records[:0:0]
	for _, rr := range z.records {
		if z.inZone(rr) && replaced[keyOf(rr)] {
			continue
		}
		kept = append(kept, rr)
	}
	z.records = kept

	var set []dns.RR
	for _, rr := range converted {
		if z.contains(rr) {
			continue // the same record twice in the input
		}
		z.records = append(z.records, rr)
		set = append(set, rr)
	}
	return set, z.checkCNAMEs(set)
}

func (z *zoneData) deleteRecords(recs []libdns.Record) ([]dns.RR, error) {
	matchers := make([]func(dns.RR) bool, 0, len(recs))
	for _, rec := range recs {
		m, err := z.matcher(rec.RR())
		if err != nil {
			return nil, err
		}
		matchers = append(matchers, m)
	}

	var deleted []dns.RR
	kept := z.records[:0:0]
	for _, rr := range z.records {
		if z.inZone(rr) && rr != dns.RR(z.soa) && matchAny(matchers, rr) {
			deleted = append(deleted, rr)
			continue
		}
		kept = append(kept, rr)
	}
	z.records = kept
	return deleted, nil
}

func matchAny(matchers []func(dns.RR) bool, rr dns.RR) bool {
	for _, m := range matchers {
		if m(rr) {
			return true
		}
	}
	return false
}

// matcher follows libdns delete semantics: the name must be given; an empty
// type, zero TTL or empty data matches anything.
func (z *zoneData) matcher(r libdns.RR) (func(dns.RR) bool, error) {
	owner, err := z.ownerName(r)
	if err != nil {
		return nil, err
	}
	var rtype uint16
	if r.Type != "" {
		if rtype, err = recordType(r); err != nil {
			return nil, err
		}
	}
	if r.TTL < 0 {
		return nil, fmt.Errorf("record %s: negative TTL %s", describe(r), r.TTL)
	}
	var probe dns.RR
	if r.Data != "" && rtype != 0 {
		if probe, err = z.toDNS(r); err != nil {
			return nil, err
		}
	}
	ttl := uint32(r.TTL / time.Second)

	return func(rr dns.RR) bool {
		h := rr.Header()
		switch {
		case !strings.EqualFold(h.Name, owner):
			return false
		case rtype != 0 && h.Rrtype != rtype:
			return false
		case r.TTL != 0 && h.Ttl != ttl:
			return false
		case probe != nil:
			return sameRecord(rr, probe)
		case r.Data != "":
			return rdataString(rr) == r.Data
		}
		return true
	}, nil
}

func (z *zoneData) contains(rr dns.RR) bool {
	for _, have := range z.records {
		if sameRecord(have, rr) {
			return true
		}
	}
	return false
}

// sameRecord compares name, class, type and data, not TTL: an RRset cannot
// hold the same data twice.
func sameRecord(a, b dns.RR) bool {
	ta, aok := a.(*dns.TXT)
	tb, bok := b.(*dns.TXT)
	if aok && bok {
		// The same text may be escaped or split differently in the file.
		return a.Header().Class == b.Header().Class &&
			strings.EqualFold(a.Header().Name, b.Header().Name) &&
			rdataString(ta) == rdataString(tb)
	}
	return dns.IsDuplicate(a, b)
}

// checkCNAMEs refuses what a DNS server would refuse: a CNAME beside other
// data at its name, or two CNAMEs at one name (RFC 1034 §3.6.2, RFC 2181
// §10.1). DNSSEC records may sit beside a CNAME.
func (z *zoneData) checkCNAMEs(changed []dns.RR) error {
	for _, rr := range changed {
		name := rr.Header().Name
		var cnames []dns.RR
		var others []string
		for _, have := range z.records {
			h := have.Header()
			// The name first: it is cheap, and rules out nearly every record.
			if !strings.EqualFold(h.Name, name) || !z.inZone(have) {
				continue
			}
			switch h.Rrtype {
			case dns.TypeCNAME:
				cnames = append(cnames, have)
			case dns.TypeRRSIG, dns.TypeNSEC:
			default:
				others = append(others, dns.Type(h.Rrtype).String())
			}
		}
		what := describeDNS(rr, z.origin)
		switch {
		case len(cnames) == 0:
		case len(others) > 0 && rr.Header().Rrtype == dns.TypeCNAME:
			return fmt.Errorf("refusing to add %s: %s already holds %s data and a CNAME must be the only record at its name: remove that data first or choose another name",
				what, name, strings.Join(uniq(others), ", "))
		case len(others) > 0:
			return fmt.Errorf("refusing to add %s: %s is a CNAME (to %s) and no other data may sit beside a CNAME: remove the CNAME first",
				what, name, rdataString(cnames[0]))
		case len(cnames) > 1:
			return fmt.Errorf("refusing to add %s: %s would hold %d CNAME records but may hold only one: use SetRecords to replace the CNAME",
				what, name, len(cnames))
		}
	}
	return nil
}

func uniq(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// toDNS turns a caller's record into a dns.RR owned by this zone.
func (z *zoneData) toDNS(r libdns.RR) (dns.RR, error) {
	owner, err := z.ownerName(r)
	if err != nil {
		return nil, err
	}
	rtype, err := recordType(r)
	if err != nil {
		return nil, err
	}
	ttl, err := z.ttl(r, owner, rtype)
	if err != nil {
		return nil, err
	}
	if rtype == dns.TypeTXT {
		return &dns.TXT{
			Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl},
			Txt: txtChunks(r.Data),
		}, nil
	}

	data := strings.TrimSpace(r.Data)
	if data == "" {
		return nil, fmt.Errorf("record %s: no data", describe(r))
	}
	if strings.ContainsAny(data, "\r\n") {
		return nil, fmt.Errorf("record %s: line break in data: give the data on one line", describe(r))
	}
	// Origin "." makes names in the data absolute with or without their
	// trailing dot (see the package comment).
	line := fmt.Sprintf("%s %d IN %s %s\n", owner, ttl, dns.Type(rtype).String(), data)
	zp := dns.NewZoneParser(strings.NewReader(line), ".", "")
	zp.SetIncludeAllowed(false)
	rr, ok := zp.Next()
	if !ok {
		if err := zp.Err(); err != nil {
			return nil, fmt.Errorf("record %s: invalid data: %w", describe(r), err)
		}
		return nil, fmt.Errorf("record %s: invalid data", describe(r))
	}
	if _, more := zp.Next(); more || zp.Err() != nil {
		return nil, fmt.Errorf("record %s: data holds more than one record", describe(r))
	}
	if rr.Header().Rrtype != rtype {
		return nil, fmt.Errorf("record %s: data parses as a %s record", describe(r), dns.Type(rr.Header().Rrtype))
	}
	return rr, nil
}

// ownerName makes a libdns relative name ("@", "www", or an FQDN inside the
// zone) absolute.
func (z *zoneData) ownerName(r libdns.RR) (string, error) {
	name := r.Name
	switch {
	case name == "":
		return "", fmt.Errorf("record %s: empty name: use \"@\" for the zone apex", describe(r))
	case strings.ContainsAny(name, " \t\r\n;()\""):
		return "", fmt.Errorf("record %s: invalid character in name", describe(r))
	}
	var fqdn string
	switch {
	case name == "@":
		fqdn = z.origin
	case strings.HasSuffix(name, "."):
		fqdn = name
	default:
		fqdn = name + "." + z.origin
	}
	if _, ok := dns.IsDomainName(fqdn); !ok {
		return "", fmt.Errorf("record %s: %q is not a valid domain name", describe(r), fqdn)
	}
	if !dns.IsSubDomain(z.origin, fqdn) {
		return "", fmt.Errorf("record %s: name %s is outside zone %s: give names relative to the zone", describe(r), fqdn, z.origin)
	}
	return fqdn, nil
}

func recordType(r libdns.RR) (uint16, error) {
	typ := strings.ToUpper(strings.TrimSpace(r.Type))
	if typ == "" {
		return 0, fmt.Errorf("record %s: no type", describe(r))
	}
	if typ == "SOA" {
		return 0, fmt.Errorf("record %s: the SOA is kept by the zonefile provider (its serial rises on every write); edit the file by hand to change it", describe(r))
	}
	if t, ok := dns.StringToType[typ]; ok {
		return t, nil
	}
	if n, ok := strings.CutPrefix(typ, "TYPE"); ok {
		if t, err := strconv.ParseUint(n, 10, 16); err == nil && t != 0 {
			return uint16(t), nil
		}
	}
	return 0, fmt.Errorf("record %s: unknown record type %q", describe(r), r.Type)
}

// ttl maps a libdns TTL to seconds: 0 means the zone default (the TTL of the
// RRset the record joins, else the SOA's); a sub-second TTL is a real 0.
func (z *zoneData) ttl(r libdns.RR, owner string, rtype uint16) (uint32, error) {
	switch {
	case r.TTL < 0:
		return 0, fmt.Errorf("record %s: negative TTL %s", describe(r), r.TTL)
	case r.TTL > time.Duration(math.MaxInt32)*time.Second:
		return 0, fmt.Errorf("record %s: TTL %s is above the maximum of %d seconds", describe(r), r.TTL, math.MaxInt32)
	case r.TTL > 0:
		return uint32(r.TTL / time.Second), nil
	}
	for _, rr := range z.records {
		h := rr.Header()
		if h.Rrtype == rtype && h.Class == dns.ClassINET && strings.EqualFold(h.Name, owner) {
			return h.Ttl, nil
		}
	}
	return z.soa.Hdr.Ttl, nil
}

func describe(r libdns.RR) string {
	return fmt.Sprintf("%s %s %q", r.Name, r.Type, r.Data)
}

func describeDNS(rr dns.RR, origin string) string {
	return fmt.Sprintf("%s %s %q", relativeName(rr.Header().Name, origin), dns.Type(rr.Header().Rrtype), rdataString(rr))
}
