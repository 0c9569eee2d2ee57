package zonefile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/dnstext"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
)

// zoneData is one zone file in memory: every record in file order, including
// records GetRecords hides (non-IN class, out of zone), so writes keep them.
type zoneData struct {
	origin  string // lower-case, trailing dot
	path    string
	records []dns.RR
	soa     *dns.SOA // points into records
}

// maxZoneFile caps the size of a zone file we read: far above any zone
// a mail server's DNS holds, far below what would exhaust memory.
const maxZoneFile = 64 * safefile.MiB

// complete reports whether zone-file text looks whole: a zone file ends
// with a newline, so one that does not may be still being written.
func complete(data []byte) bool { return len(data) == 0 || data[len(data)-1] == '\n' }

// zoneFileOptions read a zone file: bounded, and waiting for a whole file.
func zoneFileOptions() safefile.EditOptions {
	return safefile.EditOptions{Limit: maxZoneFile, Complete: complete}
}

// readZone reads and parses the zone file under a shared lock, so that a
// program editing it under the lock is never seen halfway.
func readZone(ctx context.Context, path, origin string) (*zoneData, error) {
	data, err := safefile.ReadLocked(ctx, path, zoneFileOptions())
	if err != nil {
		return nil, zoneReadError(path, err)
	}
	return zoneFrom(data, path, origin)
}

func zoneReadError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("zone file %s not found: create it with at least an SOA record", path)
	}
	return fmt.Errorf("zone file: %w", err)
}

// zoneFrom parses the text of the zone file at path.
func zoneFrom(data []byte, path, origin string) (*zoneData, error) {
	records, err := parseZone(data, origin, path)
	if err != nil {
		return nil, err
	}
	z := &zoneData{origin: origin, path: path, records: records}
	if err := z.findSOA(); err != nil {
		return nil, err
	}
	return z, nil
}

// parseZone parses zone-file text. Errors carry the file name and line.
func parseZone(data []byte, origin, filename string) ([]dns.RR, error) {
	zp := dns.NewZoneParser(bytes.NewReader(data), origin, filename)
	// An $INCLUDE would let a zone file read any file on the machine and
	// would be lost on the first rewrite anyway.
	zp.SetIncludeAllowed(false)
	var records []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		records = append(records, rr)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("parse zone file: %w (fix that line; $INCLUDE is not supported)", err)
	}
	for i, rr := range records {
		if err := checkRecord(rr); err != nil {
			return nil, fmt.Errorf("zone file %s: record %d: %w", filename, i+1, err)
		}
	}
	return records, nil
}

// checkRecord rejects what miekg/dns accepts but a DNS server would refuse,
// and what would not survive a rewrite: miekg/dns allows a record with no
// data (as used in dynamic updates, "www IN A" at the end of a line) and a
// leading blank on the first record (no owner name at all).
func checkRecord(rr dns.RR) error {
	h := rr.Header()
	s := rr.String()
	if h.Name == "" || !dns.IsFqdn(h.Name) {
		return fmt.Errorf("%q has no owner name: a line that starts with a blank repeats the previous owner, and there is none", s)
	}
	hdr := *h
	if _, generic := rr.(*dns.RFC3597); !generic && dns.Len(rr) == dns.Len(&hdr) {
		return fmt.Errorf("%s %s has no data: fix or remove it", h.Name, dns.Type(h.Rrtype))
	}
	back, err := dns.NewRR(s)
	if err != nil || back == nil || back.String() != s {
		return fmt.Errorf("%s %s has malformed data (it reads as %q): fix or remove it", h.Name, dns.Type(h.Rrtype), s)
	}
	return nil
}

func (z *zoneData) findSOA() error {
	z.soa = nil
	for _, rr := range z.records {
		soa, ok := rr.(*dns.SOA)
		if !ok {
			continue
		}
		if !strings.EqualFold(soa.Hdr.Name, z.origin) {
			return fmt.Errorf("zone file %s: SOA record for %s is not at the zone apex %s: the file must hold exactly one SOA, at the apex", z.path, soa.Hdr.Name, z.origin)
		}
		if z.soa != nil {
			return fmt.Errorf("zone file %s: more than one SOA record: keep exactly one, at the apex %s", z.path, z.origin)
		}
		z.soa = soa
	}
	if z.soa == nil {
		return fmt.Errorf("zone file %s: no SOA record: add one at the apex %s", z.path, z.origin)
	}
	return nil
}

// inZone reports whether a record belongs to what GetRecords shows and
// writes may change: class IN and owner at or below the origin.
func (z *zoneData) inZone(rr dns.RR) bool {
	h := rr.Header()
	return h.Class == dns.ClassINET && dns.IsSubDomain(z.origin, h.Name)
}

// export converts records for returning to libdns callers.
func (z *zoneData) export(rrs []dns.RR) []libdns.Record {
	out := make([]libdns.Record, 0, len(rrs))
	for _, rr := range rrs {
		if rec, ok := toLibdns(rr, z.origin); ok {
			out = append(out, rec)
		}
	}
	return out
}

// clone copies the zone so that a change can be tried on the copy; the
// records themselves are shared and never changed in place.
func (z *zoneData) clone() *zoneData {
	c := *z
	c.records = slices.Clone(z.records)
	return &c
}

// fingerprint identifies the zone's records ignoring order, so a call that
// changes nothing does not bump the serial or rewrite the file.
func (z *zoneData) fingerprint() string {
	lines := make([]string, 0, len(z.records))
	for _, rr := range z.records {
		lines = append(lines, rr.String())
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// toLibdns converts a parsed record to the typed libdns struct, or a
// libdns.RR when libdns has no type for it (or cannot parse its data).
func toLibdns(rr dns.RR, origin string) (libdns.Record, bool) {
	h := rr.Header()
	if h.Class != dns.ClassINET || !dns.IsSubDomain(origin, h.Name) {
		return nil, false
	}
	r := libdns.RR{
		Name: relativeName(h.Name, origin),
		TTL:  time.Duration(h.Ttl) * time.Second,
		Type: dns.Type(h.Rrtype).String(),
		Data: rdataString(rr),
	}
	if rec, err := r.Parse(); err == nil {
		return rec, true
	}
	return r, true
}

// rdataString is the record's data as libdns wants it: presentation format,
// except TXT, which is the unescaped text of all character-strings joined.
func rdataString(rr dns.RR) string {
	if t, ok := rr.(*dns.TXT); ok {
		var b strings.Builder
		for _, s := range t.Txt {
			b.WriteString(dnstext.Unescape(s))
		}
		return b.String()
	}
	// The header is "name\tttl\tclass\ttype\t"; names escape tabs, so the
	// fifth tab-separated field is the data, also for RFC 3597 records.
	parts := strings.SplitN(rr.String(), "\t", 5)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}

// relativeName expects name to be at or below origin. It works on labels, not
// bytes, because the name may spell the origin with other case or escapes.
func relativeName(name, origin string) string {
	labels := dns.SplitDomainName(name)
	keep := len(labels) - dns.CountLabel(origin)
	if keep <= 0 {
		return "@"
	}
	return strings.Join(labels[:keep], ".")
}

// txtChunks splits text into character-strings of at most 255 bytes.
func txtChunks(text string) []string {
	if text == "" {
		return []string{""}
	}
	var chunks []string
	for len(text) > 255 {
		chunks = append(chunks, dnstext.Escape(text[:255]))
		text = text[255:]
	}
	return append(chunks, dnstext.Escape(text))
}
