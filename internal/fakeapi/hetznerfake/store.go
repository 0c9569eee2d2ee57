package hetznerfake

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

const (
	defaultZoneTTL = 3600
	minTTL         = 60
	maxTXTString   = 255
)

// The apex records Hetzner puts in every new primary zone.
var (
	defaultNS  = []string{"hydrogen.ns.hetzner.com.", "oxygen.ns.hetzner.com.", "helium.ns.hetzner.de."}
	defaultSOA = "hydrogen.ns.hetzner.com. dns.hetzner.com. 2024010101 86400 10800 3600000 3600"
)

// rrset is Hetzner's unit of storage: a relative lower-case name ("@" for
// the apex), a type, an optional TTL (nil: the zone's) and the values in
// zone-file form.
type rrset struct {
	Name   string
	Type   string
	TTL    *int
	Values []string
}

func (r *rrset) id() string { return r.Name + "/" + r.Type }

func (r *rrset) has(v string) bool {
	for _, x := range r.Values {
		if x == v {
			return true
		}
	}
	return false
}

type zone struct {
	ID      int64
	Name    string
	TTL     int
	Created time.Time
	byName  map[string]map[string]*rrset
	count   int
	sorted  []*rrset
}

func newZone(id int64, name string, now time.Time) *zone {
	z := &zone{ID: id, Name: name, TTL: defaultZoneTTL, Created: now, byName: map[string]map[string]*rrset{}}
	ttl := defaultZoneTTL
	z.put(&rrset{Name: "@", Type: "SOA", TTL: &ttl, Values: []string{defaultSOA}})
	z.put(&rrset{Name: "@", Type: "NS", TTL: &ttl, Values: append([]string(nil), defaultNS...)})
	return z
}

func (z *zone) get(name, typ string) *rrset { return z.byName[name][typ] }

func (z *zone) put(r *rrset) {
	at := z.byName[r.Name]
	if at == nil {
		at = map[string]*rrset{}
		z.byName[r.Name] = at
	}
	if at[r.Type] == nil {
		z.count++
	}
	at[r.Type] = r
	z.sorted = nil
}

func (z *zone) drop(r *rrset) {
	at := z.byName[r.Name]
	if at[r.Type] == nil {
		return
	}
	delete(at, r.Type)
	if len(at) == 0 {
		delete(z.byName, r.Name)
	}
	z.count--
	z.sorted = nil
}

// all lists the RRsets ordered by name then type, cached until a change.
func (z *zone) all() []*rrset {
	if z.sorted == nil {
		z.sorted = make([]*rrset, 0, z.count)
		for _, at := range z.byName {
			for _, r := range at {
				z.sorted = append(z.sorted, r)
			}
		}
		sortRRsets(z.sorted)
	}
	return z.sorted
}

func sortRRsets(rs []*rrset) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Name != rs[j].Name {
			return rs[i].Name < rs[j].Name
		}
		return rs[i].Type < rs[j].Type
	})
}

// apiError is a Hetzner Cloud error: status, code and message, and for
// invalid_input the fields at fault.
type apiError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func invalidInput(field, msg string) *apiError {
	return &apiError{422, "invalid_input", "invalid input in field '" + field + "'", field + ": " + msg}
}

var supportedTypes = map[string]bool{
	"A": true, "AAAA": true, "CAA": true, "CNAME": true, "DS": true, "HINFO": true, "HTTPS": true,
	"MX": true, "NS": true, "PTR": true, "RP": true, "SOA": true, "SRV": true, "SVCB": true, "TLSA": true, "TXT": true,
}

// checkValues validates values of an RRset of type typ the way the API
// does: each must be valid zone-file rdata, TXT as quoted strings of at
// most 255 bytes.
func (z *zone) checkValues(name, typ string, values []string) *apiError {
	if !supportedTypes[typ] {
		return invalidInput("type", fmt.Sprintf("unsupported RRSet type %q", typ))
	}
	if len(values) == 0 {
		return invalidInput("records", "at least one record is required")
	}
	for _, v := range values {
		if typ == "TXT" {
			if _, err := parseCharStrings(v); err != nil {
				return invalidInput("records", fmt.Sprintf("invalid TXT value %q: %v", v, err))
			}
			continue
		}
		if _, err := z.parse(name, typ, minTTL, v); err != nil {
			return invalidInput("records", fmt.Sprintf("invalid %s value %q", typ, v))
		}
	}
	if typ == "CNAME" && len(values) > 1 {
		return invalidInput("records", "an RRSet of type CNAME must hold exactly one record")
	}
	return nil
}

// checkCNAME refuses a CNAME beside other data at the same name, and other
// data beside a CNAME.
func (z *zone) checkCNAME(name, typ string) *apiError {
	for other := range z.byName[name] {
		if other == typ {
			continue
		}
		if typ == "CNAME" || other == "CNAME" {
			return invalidInput("type", fmt.Sprintf("RRSet of type CNAME cannot coexist with other RRSets at name %q (found %s)", name, other))
		}
	}
	return nil
}

// parse reads one value as the DNS server would serve it.
func (z *zone) parse(name, typ string, ttl int, value string) (dns.RR, error) {
	if strings.ContainsAny(value, "\n\r;()$") && typ != "TXT" {
		return nil, errors.New("value holds zone-file control characters")
	}
	owner := z.Name + "."
	if name != "@" {
		owner = name + "." + owner
	}
	zp := dns.NewZoneParser(strings.NewReader(fmt.Sprintf("%s %d IN %s %s\n", owner, ttl, typ, value)), z.Name+".", "")
	zp.SetIncludeAllowed(false)
	rr, ok := zp.Next()
	if err := zp.Err(); err != nil {
		return nil, err
	}
	if !ok || rr == nil {
		return nil, errors.New("empty value")
	}
	if _, err := dns.NewRR(rr.String()); err != nil {
		return nil, err
	}
	return rr, nil
}

func (z *zone) effectiveTTL(r *rrset) int {
	if r.TTL != nil {
		return *r.TTL
	}
	return z.TTL
}

// parseCharStrings reads zone-file character strings, each quoted, with
// \X and \DDD escapes, separated by blanks; it returns the raw strings.
func parseCharStrings(s string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		if s[i] != '"' {
			return nil, errors.New("TXT values must consist of quoted strings")
		}
		i++
		var b []byte
		closed := false
		for i < len(s) {
			c := s[i]
			i++
			if c == '"' {
				closed = true
				break
			}
			if c != '\\' {
				b = append(b, c)
				continue
			}
			if i == len(s) {
				return nil, errors.New("trailing backslash")
			}
			if isDigit(s[i]) {
				if i+3 > len(s) || !isDigit(s[i+1]) || !isDigit(s[i+2]) {
					return nil, errors.New("bad \\DDD escape")
				}
				n := int(s[i]-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
				if n > 255 {
					return nil, errors.New("bad \\DDD escape")
				}
				b = append(b, byte(n))
				i += 3
				continue
			}
			b = append(b, s[i])
			i++
		}
		if !closed {
			return nil, errors.New("unterminated quoted string")
		}
		if len(b) > maxTXTString {
			return nil, fmt.Errorf("a string is %d bytes long; split it into quoted strings of at most %d", len(b), maxTXTString)
		}
		out = append(out, string(b))
		if i < len(s) && s[i] != ' ' && s[i] != '\t' {
			return nil, errors.New("quoted strings must be separated by blanks")
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty TXT value")
	}
	return out, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// presentation renders one value as DNS serves it, or a comment line when
// the stored value is not servable (only possible through SeedRaw).
func (z *zone) presentation(r *rrset, value string) string {
	rr, err := z.parse(r.Name, r.Type, z.effectiveTTL(r), value)
	if err != nil {
		return fmt.Sprintf("; unparsable %s %s %q", r.Name, r.Type, value)
	}
	return rr.String()
}

// relativeName turns an absolute owner name into Hetzner's relative form.
func relativeName(fqdn, zone string) string {
	n := strings.ToLower(strings.TrimSuffix(fqdn, "."))
	if n == zone {
		return "@"
	}
	return strings.TrimSuffix(n, "."+zone)
}
