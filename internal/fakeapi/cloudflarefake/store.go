package cloudflarefake

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// autoTTL is the value Cloudflare stores for "automatic"; its DNS servers
// answer such records with autoServedTTL.
const (
	autoTTL       = 1
	autoServedTTL = 300
	minTTL        = 60
	maxTTL        = 86400
)

// record is one DNS record in Cloudflare's storage form: the name is the
// lower-case FQDN without the trailing dot, content is kept exactly as sent.
type record struct {
	ID       string
	ZoneID   string
	Type     string
	Name     string
	Content  string
	Priority uint16
	TTL      int
	Proxied  bool
	// SRV, CAA and TLSA carry structured data beside content, as the API does.
	SRV      *srvData
	CAA      *caaData
	TLSA     *tlsaData
	Created  time.Time
	Modified time.Time
}

type srvData struct {
	Priority uint16
	Weight   uint16
	Port     uint16
	Target   string
}

// tlsaData is the structured form Cloudflare requires for TLSA: content is
// derived from it and ignored on input.
type tlsaData struct {
	Usage, Selector, MatchingType int
	Certificate                   string
}

type caaData struct {
	Flags int
	Tag   string
	Value string
}

// zone is one zone's records, indexed by id and by name so that every
// request costs at most O(records at one name) plus one sort of the zone
// when the listing is read after a change.
type zone struct {
	ID      string
	Name    string
	Created time.Time
	byID    map[string]*record
	byName  map[string]map[string]*record
	sorted  []*record
}

func newZone(name string, now time.Time) *zone {
	sum := md5.Sum([]byte("zone:" + name))
	return &zone{
		ID:      hex.EncodeToString(sum[:]),
		Name:    name,
		Created: now,
		byID:    map[string]*record{},
		byName:  map[string]map[string]*record{},
	}
}

func (z *zone) add(r *record) {
	z.byID[r.ID] = r
	at := z.byName[r.Name]
	if at == nil {
		at = map[string]*record{}
		z.byName[r.Name] = at
	}
	at[r.ID] = r
	z.sorted = nil
}

func (z *zone) remove(r *record) {
	delete(z.byID, r.ID)
	if at := z.byName[r.Name]; at != nil {
		delete(at, r.ID)
		if len(at) == 0 {
			delete(z.byName, r.Name)
		}
	}
	z.sorted = nil
}

// all returns the zone's records in the listing order (type, name,
// content, id); the slice is cached until the next change.
func (z *zone) all() []*record {
	if z.sorted == nil {
		z.sorted = make([]*record, 0, len(z.byID))
		for _, r := range z.byID {
			z.sorted = append(z.sorted, r)
		}
		sortRecords(z.sorted)
	}
	return z.sorted
}

func sortRecords(rs []*record) {
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Content != b.Content {
			return a.Content < b.Content
		}
		return a.ID < b.ID
	})
}

// apiError is an error the way Cloudflare reports it: an HTTP status and
// one entry of the errors array.
type apiError struct {
	Status  int
	Code    int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

const sameNameDoc = " For more details, refer to <https://developers.cloudflare.com/dns/manage-dns-records/troubleshooting/records-with-same-name/>."

// checkConflicts applies Cloudflare's same-name rules to r against the
// records already at its name (skipping the one being replaced).
func (z *zone) checkConflicts(r *record, replacing string) *apiError {
	for id, o := range z.byName[r.Name] {
		if id == replacing {
			continue
		}
		switch {
		case r.Type == "CNAME":
			return &apiError{400, 81053, "An A, AAAA, or CNAME record with that host already exists." + sameNameDoc}
		case o.Type == "CNAME":
			return &apiError{400, 81054, "A CNAME record with that host already exists." + sameNameDoc}
		case o.Type == r.Type && o.Content == r.Content && o.Priority == r.Priority:
			return &apiError{400, 81058, "An identical record already exists."}
		}
	}
	return nil
}

// normalizeName turns a name as the API accepts it ("@", relative, or
// absolute with or without the trailing dot) into the stored FQDN.
func normalizeName(name, zone string) string {
	n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	switch {
	case n == "@" || n == "":
		return zone
	case n == zone || strings.HasSuffix(n, "."+zone):
		return n
	default:
		return n + "." + zone
	}
}

// validate checks what Cloudflare checks before storing a record and fills
// in its defaults.
func validate(r *record) *apiError {
	switch r.TTL {
	case 0:
		r.TTL = autoTTL
	case autoTTL:
	default:
		if r.TTL < minTTL || r.TTL > maxTTL {
			return &apiError{400, 9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic."}
		}
	}
	if _, known := dns.StringToType[r.Type]; !known {
		return &apiError{400, 9005, "DNS record type is invalid or missing."}
	}
	switch r.Type {
	case "A", "AAAA":
		ip, err := netip.ParseAddr(r.Content)
		if err != nil || ip.Is4() != (r.Type == "A") {
			return &apiError{400, 9005, fmt.Sprintf("Content for %s record is invalid. Must be a valid IPv%s address.", r.Type, map[bool]string{true: "4", false: "6"}[r.Type == "A"])}
		}
	case "SRV":
		if r.SRV == nil {
			return &apiError{400, 9101, "SRV record data is missing."}
		}
		r.Priority = r.SRV.Priority
		r.Content = fmt.Sprintf("%d %d %s", r.SRV.Weight, r.SRV.Port, strings.TrimSuffix(r.SRV.Target, "."))
	case "TLSA":
		if e := checkTLSA(r.TLSA); e != nil {
			return e
		}
		d := r.TLSA
		r.Content = fmt.Sprintf("%d %d %d %s", d.Usage, d.Selector, d.MatchingType, d.Certificate)
	default:
		if r.Content == "" {
			return &apiError{400, 9007, "Content for " + r.Type + " record is invalid."}
		}
	}
	if r.Type == "CNAME" || r.Type == "NS" || r.Type == "MX" || r.Type == "PTR" {
		r.Content = strings.TrimSuffix(r.Content, ".")
	}
	return nil
}

// checkTLSA is Cloudflare's validation of TLSA data: every field is
// required in data (a content string alone is rejected), the numbers are
// octets and the certificate is hex.
func checkTLSA(d *tlsaData) *apiError {
	if d == nil || d.Certificate == "" {
		return &apiError{400, 9101, "data.certificate is required for TLSA records; set data: {usage, selector, matching_type, certificate}."}
	}
	for _, n := range []int{d.Usage, d.Selector, d.MatchingType} {
		if n < 0 || n > 255 {
			return &apiError{400, 9101, "TLSA record data is invalid: usage, selector and matching_type must be between 0 and 255."}
		}
	}
	if _, err := hex.DecodeString(d.Certificate); err != nil || len(d.Certificate) == 0 {
		return &apiError{400, 9101, "TLSA record data is invalid: certificate must be a hexadecimal string."}
	}
	return nil
}

// presentation renders r the way Cloudflare's DNS servers answer it.
func presentation(r *record) string {
	ttl := r.TTL
	if ttl == autoTTL {
		ttl = autoServedTTL
	}
	var rdata string
	switch r.Type {
	case "CNAME", "NS", "PTR":
		rdata = dns.Fqdn(r.Content)
	case "MX":
		rdata = fmt.Sprintf("%d %s", r.Priority, dns.Fqdn(r.Content))
	case "SRV":
		if r.SRV != nil {
			rdata = fmt.Sprintf("%d %d %d %s", r.SRV.Priority, r.SRV.Weight, r.SRV.Port, dns.Fqdn(r.SRV.Target))
		}
	case "TXT":
		rdata = txtRdata(r.Content)
	default:
		rdata = r.Content
	}
	if _, known := dns.StringToType[r.Type]; !known || strings.ContainsAny(rdata+r.Name, "\n\r();$") && r.Type != "TXT" {
		return fmt.Sprintf("; unparsable %s %s %q", r.Name, r.Type, r.Content)
	}
	line := fmt.Sprintf("%s %d IN %s %s", dns.Fqdn(r.Name), ttl, r.Type, rdata)
	rr, err := dns.NewRR(line)
	if err == nil && rr != nil {
		// miekg/dns accepts some empty rdata it cannot print back.
		if _, err := dns.NewRR(rr.String()); err == nil {
			return rr.String()
		}
	}
	return fmt.Sprintf("; unparsable %s %s %q", r.Name, r.Type, r.Content)
}

// txtRdata turns stored TXT content into zone-file character strings.
// Quoted content is already in that form (how current clients send it);
// legacy unquoted content is served as one text, split into 255-byte
// strings.
func txtRdata(content string) string {
	if len(content) >= 2 && content[0] == '"' && content[len(content)-1] == '"' {
		if _, err := dns.NewRR(". 0 IN TXT " + content); err == nil {
			return content
		}
	}
	return quoteText(content)
}

// quoteText renders raw bytes as one zone-file character string; miekg/dns
// splits it at 255 bytes when parsing.
func quoteText(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			b.WriteString("\\" + fmt.Sprintf("%03d", c))
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// fromRR converts a parsed presentation-format record to Cloudflare's
// storage form, as the current libdns client would have written it.
func fromRR(rr dns.RR) (*record, error) {
	h := rr.Header()
	r := &record{
		Type: dns.TypeToString[h.Rrtype],
		Name: strings.ToLower(strings.TrimSuffix(h.Name, ".")),
		TTL:  int(h.Ttl),
	}
	if r.TTL != autoTTL && r.TTL < minTTL {
		r.TTL = minTTL
	}
	if r.TTL > maxTTL {
		r.TTL = maxTTL
	}
	switch v := rr.(type) {
	case *dns.A:
		r.Content = v.A.String()
	case *dns.AAAA:
		r.Content = v.AAAA.String()
	case *dns.CNAME:
		r.Content = v.Target
	case *dns.NS:
		r.Content = v.Ns
	case *dns.PTR:
		r.Content = v.Ptr
	case *dns.MX:
		r.Content = v.Mx
		r.Priority = v.Preference
	case *dns.TXT:
		// The strings of one record are joined: MTA-STS and TLSRPT read them
		// joined, and this is what a client writing the joined text stores.
		r.Content = `"` + strings.Join(v.Txt, "") + `"`
	case *dns.SRV:
		r.SRV = &srvData{Priority: v.Priority, Weight: v.Weight, Port: v.Port, Target: v.Target}
	case *dns.CAA:
		r.CAA = &caaData{Flags: int(v.Flag), Tag: v.Tag, Value: v.Value}
		r.Content = strconv.Itoa(int(v.Flag)) + " " + v.Tag + " " + strconv.Quote(v.Value)
	case *dns.TLSA:
		r.TLSA = &tlsaData{Usage: int(v.Usage), Selector: int(v.Selector), MatchingType: int(v.MatchingType), Certificate: v.Certificate}
		r.Content = fmt.Sprintf("%d %d %d %s", v.Usage, v.Selector, v.MatchingType, v.Certificate)
	default:
		r.Content = strings.TrimSpace(strings.TrimPrefix(rr.String(), h.String()))
	}
	return r, nil
}
