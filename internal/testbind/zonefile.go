package testbind

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// Defaults written into a zone that does not bring its own SOA or NS.
const (
	defaultTTL     = 3600
	defaultNSLabel = "ns1"
	defaultNSAddr  = "127.0.0.1"
)

// zoneName validates a zone name and returns it in the two forms named
// needs: absolute (for records) and without the trailing dot (for the config
// and for matching the "zone NAME/IN: loaded serial" log line). Only a plain
// character set is allowed because the name is pasted into named.conf.
func zoneName(name string) (fqdn, bare string, err error) {
	fqdn = strings.ToLower(dns.Fqdn(strings.TrimSpace(name)))
	if fqdn == "." {
		return "", "", errors.New("zone name is empty: give a name such as example.test")
	}
	for _, r := range fqdn {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return "", "", fmt.Errorf("zone %q: character %q not allowed: use letters, digits, '-', '_' and '.'", name, r)
		}
	}
	if _, ok := dns.IsDomainName(fqdn); !ok || strings.Contains(fqdn, "..") {
		return "", "", fmt.Errorf("zone %q: not a valid domain name", name)
	}
	return fqdn, strings.TrimSuffix(fqdn, "."), nil
}

// zoneFile parses a zone's presentation-format records and renders the zone
// file named loads, adding the SOA, the apex NS and an address for an
// in-zone NS target when they are missing, since BIND refuses to load a
// zone without them.
func zoneFile(z Zone) (string, error) {
	origin, _, err := zoneName(z.Name)
	if err != nil {
		return "", err
	}

	var rrs []dns.RR
	for i, line := range z.Records {
		rr, err := parseRecord(line, origin)
		if err != nil {
			return "", fmt.Errorf("zone %s: record %d %q: %w", origin, i+1, line, err)
		}
		if rr == nil {
			continue // blank line or comment
		}
		if !dns.IsSubDomain(origin, rr.Header().Name) {
			return "", fmt.Errorf("zone %s: record %d %q: owner %s is outside the zone: use a name ending in %s",
				origin, i+1, line, rr.Header().Name, origin)
		}
		rrs = append(rrs, rr)
	}

	var soa *dns.SOA
	var apexNS []*dns.NS
	addressed := map[string]bool{}
	for _, rr := range rrs {
		owner := strings.ToLower(rr.Header().Name)
		switch v := rr.(type) {
		case *dns.SOA:
			if owner != origin {
				return "", fmt.Errorf("zone %s: SOA at %s: an SOA belongs only at the apex", origin, rr.Header().Name)
			}
			if soa != nil {
				return "", fmt.Errorf("zone %s: more than one SOA: keep one or none", origin)
			}
			soa = v
		case *dns.NS:
			if owner == origin {
				apexNS = append(apexNS, v)
			}
		case *dns.A, *dns.AAAA:
			addressed[owner] = true
		}
	}

	nsTarget := defaultNSLabel + "." + origin
	if len(apexNS) > 0 {
		nsTarget = apexNS[0].Ns
	}
	if soa == nil {
		soa = &dns.SOA{
			Hdr:     dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: defaultTTL},
			Ns:      nsTarget,
			Mbox:    "hostmaster." + origin,
			Serial:  1,
			Refresh: 3600,
			Retry:   600,
			Expire:  86400,
			Minttl:  60,
		}
	}
	// The SOA must come first in a zone file; the rest keeps the caller's order.
	out := []dns.RR{soa}
	if len(apexNS) == 0 {
		ns := &dns.NS{Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: defaultTTL}, Ns: nsTarget}
		out = append(out, ns)
		apexNS = append(apexNS, ns)
	}
	for _, ns := range apexNS {
		target := strings.ToLower(ns.Ns)
		if !dns.IsSubDomain(origin, target) || addressed[target] {
			continue
		}
		out = append(out, &dns.A{
			Hdr: dns.RR_Header{Name: target, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: defaultTTL},
			A:   net.ParseIP(defaultNSAddr),
		})
		addressed[target] = true
	}
	for _, rr := range rrs {
		if rr != dns.RR(soa) {
			out = append(out, rr)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s\n", origin)
	for _, rr := range out {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	// miekg prints some records it accepted in a form it cannot read back
	// (empty names in an SOA, for one); catch that here, not in named's log.
	text := b.String()
	zp := dns.NewZoneParser(strings.NewReader(text), "", "")
	zp.SetIncludeAllowed(false)
	for _, ok := zp.Next(); ok; _, ok = zp.Next() {
	}
	if err := zp.Err(); err != nil {
		return "", fmt.Errorf("zone %s: a record does not read back as written: %w", origin, err)
	}
	return text, nil
}

// parseRecord reads one presentation-format line; relative names are taken
// relative to the zone so "@" and "www" work as in a zone file. It returns
// nil for a line without a record.
func parseRecord(line, origin string) (dns.RR, error) {
	// The trailing newline makes miekg apply its zone-file rules (a line
	// ending without rdata is an error there, an empty UPDATE RR here).
	zp := dns.NewZoneParser(strings.NewReader(line+"\n"), origin, "")
	zp.SetDefaultTTL(defaultTTL)
	zp.SetIncludeAllowed(false)
	rr, ok := zp.Next()
	if err := zp.Err(); err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	if _, more := zp.Next(); more {
		return nil, errors.New("more than one record on the line: give one record per entry")
	}
	if err := zp.Err(); err != nil {
		return nil, err
	}
	// miekg accepts a type without rdata (an RFC 2136 delete form), which
	// is no record to serve.
	if rr.String() == rr.Header().String() {
		return nil, errors.New("record has no data: give the value after the type")
	}
	return rr, nil
}
