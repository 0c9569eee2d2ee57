package zonefile

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

const header = "; managed in part by mtasts-sync: only _mta-sts, _smtp._tls and mta-sts names are ever changed\n"

// nextSerial bumps an SOA serial. A serial that reads as YYYYMMDDnn with a
// real date not after today moves to today's first number (or +1 if already
// there); any other serial gets +1. Either way the step is positive and below
// 2^31, so secondaries see a newer serial under RFC 1982 arithmetic, and +1
// wraps from 4294967295 to 0 as RFC 1982 allows.
func nextSerial(old uint32, now time.Time) uint32 {
	y, m, d := now.UTC().Date()
	today := uint32(y)*1000000 + uint32(m)*10000 + uint32(d)*100
	if looksLikeDate(old) && old < today && today-old < 1<<31 {
		return today
	}
	return old + 1
}

func looksLikeDate(serial uint32) bool {
	day := serial / 100
	y, m, d := int(day/10000), time.Month(day/100%100), int(day%100)
	if y < 1970 {
		return false
	}
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return t.Year() == y && t.Month() == m && t.Day() == d
}

// sorted orders records for a reviewable file: the SOA, the apex NS, then by
// name in DNS canonical order (RFC 4034 §6.1) and by type. The sort is stable
// so data within an RRset keeps its order and diffs stay small.
func (z *zoneData) sorted() []dns.RR {
	out := slices.Clone(z.records)
	rank := func(rr dns.RR) int {
		h := rr.Header()
		switch {
		case h.Rrtype == dns.TypeSOA:
			return 0
		case h.Rrtype == dns.TypeNS && strings.EqualFold(h.Name, z.origin):
			return 1
		}
		return 2
	}
	slices.SortStableFunc(out, func(a, b dns.RR) int {
		return cmp.Or(
			cmp.Compare(rank(a), rank(b)),
			canonicalCompare(a.Header().Name, b.Header().Name),
			cmp.Compare(a.Header().Rrtype, b.Header().Rrtype),
			cmp.Compare(a.Header().Class, b.Header().Class),
		)
	})
	return out
}

func canonicalCompare(a, b string) int {
	la, lb := dns.SplitDomainName(strings.ToLower(a)), dns.SplitDomainName(strings.ToLower(b))
	slices.Reverse(la)
	slices.Reverse(lb)
	return slices.Compare(la, lb)
}

func render(records []dns.RR) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for _, rr := range records {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// renderNext renders the zone with its SOA serial moved on by one step,
// checking that the text reads back to the same records, so a quirk in
// printing some record type can never silently corrupt a user's zone.
// z itself is not changed.
func (z *zoneData) renderNext(now time.Time) ([]byte, error) {
	soa := *z.soa
	soa.Serial = nextSerial(z.soa.Serial, now)
	next := z.clone()
	for i, rr := range next.records {
		if rr == dns.RR(z.soa) {
			next.records[i] = &soa
		}
	}
	records := next.sorted()
	text := render(records)
	back, err := parseZone(text, z.origin, z.path)
	if err == nil && !sameText(records, back) {
		err = fmt.Errorf("records differ after reading back")
	}
	if err != nil {
		return nil, fmt.Errorf("zone file %s left unchanged: the rewritten zone would not read back identically (%v); this is a bug in the zonefile provider, please report it", z.path, err)
	}
	return text, nil
}

func sameText(a, b []dns.RR) bool {
	return slices.EqualFunc(a, b, func(x, y dns.RR) bool { return x.String() == y.String() })
}
