// Package desecfake is a local fake of the deSEC REST API, as far as
// github.com/libdns/desec uses it: the RRset list, a single RRset, and bulk
// PUT/PATCH where `records: []` deletes an RRset.
package desecfake

import (
	"encoding/json"
	"fmt"
	"github.com/mtasts-sync/mtasts-sync/internal/dnstext"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libdns/desec"
	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
)

const (
	// MinimumTTL is deSEC's default minimum TTL; lower TTLs are rejected.
	MinimumTTL = 3600
	// MaximumTTL is the highest TTL deSEC accepts.
	MaximumTTL = 86400
	// pageSize is how many RRsets deSEC lists before it demands pagination.
	pageSize  = 500
	apiPrefix = "/api/v1/"
)

// automaticTypes are managed by deSEC itself.
var automaticTypes = map[string]bool{"KEY": true, "NSEC": true, "NSEC3": true, "OPT": true, "RRSIG": true, "NSEC3PARAM": true, "SOA": true}

var (
	subnameRe = regexp.MustCompile(`^([*]|(([*][.])?([a-z0-9_-]{1,63}[.])*[a-z0-9_-]{1,63}))?$`)
	typeRe    = regexp.MustCompile(`^[A-Z][A-Z0-9]*$`)
)

type key struct{ subname, typ string }

type rrset struct {
	ttl              int
	records          []string // canonical, sorted
	created, touched string
}

type zone struct {
	name    string // without trailing dot
	created string
	sets    map[key]*rrset
}

// Server is a fake deSEC API on loopback. It implements fakeapi.Fake.
type Server struct {
	*fakeapi.Server
	token string

	mu    sync.Mutex
	zones map[string]*zone
}

var _ fakeapi.Fake = (*Server)(nil)

// New starts a fake that accepts `Authorization: Token <token>`.
func New(token string, opts fakeapi.Options) *Server {
	s := &Server{token: token, zones: map[string]*zone{}}
	s.Server = fakeapi.NewServer(http.HandlerFunc(s.serve), classify, opts, throttled)
	return s
}

// Provider returns the unmodified libdns deSEC client with the fake's token.
// The client has a fixed base URL (https://desec.io/api/v1) and sends through
// http.DefaultClient, so the caller must also set http.DefaultTransport to
// s.Transport() and restore it afterwards (process-global: no t.Parallel).
//
// Never call its SetRecords on a real zone: it PUTs `records: []` for every
// RRset it was not given, wiping the zone, apex NS included.
func (s *Server) Provider() *desec.Provider {
	return &desec.Provider{Token: s.token}
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000000Z") }

// AddZone creates a domain holding what deSEC puts in a new one: the apex NS
// RRset (SOA and DNSSEC records are not shown by the API).
func (s *Server) AddZone(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addZoneLocked(name)
}

func (s *Server) addZoneLocked(name string) *zone {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	if z := s.zones[n]; z != nil {
		return z
	}
	t := now()
	z := &zone{name: n, created: t, sets: map[key]*rrset{}}
	z.sets[key{"", "NS"}] = &rrset{ttl: 3600, records: []string{"ns1.desec.io.", "ns2.desec.org."}, created: t, touched: t}
	s.zones[n] = z
	return z
}

// Seed adds records given in presentation format with absolute names,
// creating the domain if needed. TTLs below deSEC's minimum are raised to it
// (the service would refuse them); records of one name and type join one
// RRset and the last TTL wins. A CNAME beside other data is an error.
func (s *Server) Seed(zoneName string, rrs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.addZoneLocked(zoneName)
	for _, line := range rrs {
		rr, err := dns.NewRR(line)
		if err != nil {
			return fmt.Errorf("seed domain %s: record %q: %w", z.name, line, err)
		}
		if rr == nil {
			continue
		}
		h := rr.Header()
		name := strings.ToLower(h.Name)
		if !dns.IsSubDomain(z.name+".", name) {
			return fmt.Errorf("seed domain %s: record %q is outside the domain", z.name, line)
		}
		sub := strings.TrimSuffix(strings.TrimSuffix(name, z.name+"."), ".")
		typ := dns.TypeToString[h.Rrtype]
		var content string
		if t, ok := rr.(*dns.TXT); ok {
			strs := make([]string, len(t.Txt))
			for i, x := range t.Txt {
				strs[i] = dnstext.Unescape(x)
			}
			content = dnstext.Present(strs)
		} else {
			content = strings.TrimPrefix(rr.String(), h.String())
		}
		k := key{sub, typ}
		for other := range z.sets {
			if other.subname == sub && other.typ != typ && (typ == "CNAME" || other.typ == "CNAME") {
				return fmt.Errorf("seed domain %s: record %q: RRset with conflicting type present: database (%s). (No other RRsets are allowed alongside CNAME.)", z.name, line, other.typ)
			}
		}
		set := z.sets[k]
		if set == nil {
			t := now()
			set = &rrset{created: t, touched: t}
			z.sets[k] = set
		}
		set.ttl = max(int(h.Ttl), MinimumTTL)
		if !contains(set.records, content) {
			set.records = append(set.records, content)
			sort.Strings(set.records)
		}
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Dump returns every record of the domain, apex NS included, as canonical
// miekg presentation lines, sorted.
func (s *Server) Dump(zoneName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[strings.ToLower(strings.TrimSuffix(zoneName, "."))]
	if z == nil {
		return nil
	}
	var out []string
	for k, set := range z.sets {
		for _, c := range set.records {
			line := fmt.Sprintf("%s\t%d\tIN\t%s\t%s", fqdn(k.subname, z.name), set.ttl, k.typ, c)
			if rr, err := dns.NewRR(line); err == nil && rr != nil {
				line = rr.String()
			}
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return out
}

func fqdn(subname, zone string) string {
	if subname == "" {
		return zone + "."
	}
	return subname + "." + zone + "."
}

// classify names a request's kind for the counters.
func classify(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, apiPrefix)
	parts := strings.Split(p, "/")
	switch {
	case len(parts) >= 3 && parts[0] == "domains" && parts[2] == "rrsets":
		if !strings.HasSuffix(p, "/") && r.Method == http.MethodGet {
			return "redirect"
		}
		if r.Method != http.MethodGet {
			return "write"
		}
		if len(parts) == 4 {
			return "read"
		}
		return "read-rrset"
	case len(parts) >= 1 && parts[0] == "domains":
		return "zone"
	}
	return "other"
}

// throttled is deSEC's (Django REST framework's) rate-limit answer.
func throttled(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusTooManyRequests, map[string]string{"detail": "Request was throttled. Expected available in 1 second."})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func detail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"detail": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "":
		w.Header().Set("WWW-Authenticate", "Token")
		detail(w, http.StatusUnauthorized, "Authentication credentials were not provided.")
		return
	case auth != "Token "+s.token:
		w.Header().Set("WWW-Authenticate", "Token")
		detail(w, http.StatusUnauthorized, "Invalid token.")
		return
	}
	if !strings.HasPrefix(r.URL.Path, apiPrefix) {
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	p := strings.TrimPrefix(r.URL.Path, apiPrefix)
	// Django's APPEND_SLASH: a GET without the trailing slash is redirected
	// to the same path with it (the client asks for single RRsets that way).
	if !strings.HasSuffix(p, "/") {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			target := r.URL.Path + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	parts := strings.Split(strings.TrimSuffix(p, "/"), "/")
	if parts[0] != "domains" {
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		s.listDomains(w)
	case len(parts) == 2 && r.Method == http.MethodGet:
		s.getDomain(w, parts[1])
	case len(parts) == 3 && parts[2] == "rrsets":
		switch r.Method {
		case http.MethodGet:
			s.listRRsets(w, r, parts[1])
		case http.MethodPut, http.MethodPatch:
			s.bulk(w, r, parts[1], r.Method == http.MethodPatch)
		default:
			detail(w, http.StatusMethodNotAllowed, fmt.Sprintf("Method \"%s\" not allowed.", r.Method))
		}
	case len(parts) == 5 && parts[2] == "rrsets":
		if r.Method != http.MethodGet {
			detail(w, http.StatusMethodNotAllowed, fmt.Sprintf("Method \"%s\" not allowed.", r.Method))
			return
		}
		sub := parts[3]
		switch {
		case sub == "@" || sub == "...":
			sub = ""
		case strings.HasSuffix(sub, "@"), strings.HasSuffix(sub, "..."):
			sub = strings.TrimSuffix(strings.TrimSuffix(sub, "@"), "...")
		}
		s.getRRset(w, parts[1], sub, parts[4])
	default:
		detail(w, http.StatusNotFound, "Not found.")
	}
}

type wireRRset struct {
	Created string   `json:"created"`
	Domain  string   `json:"domain"`
	Subname string   `json:"subname"`
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Records []string `json:"records"`
	TTL     int      `json:"ttl"`
	Touched string   `json:"touched"`
}

func (z *zone) wire(k key, set *rrset) wireRRset {
	return wireRRset{
		Created: set.created, Domain: z.name, Subname: k.subname, Name: fqdn(k.subname, z.name),
		Type: k.typ, Records: append([]string{}, set.records...), TTL: set.ttl, Touched: set.touched,
	}
}

type wireDomain struct {
	Created    string `json:"created"`
	Name       string `json:"name"`
	MinimumTTL int    `json:"minimum_ttl"`
	Published  string `json:"published"`
	Touched    string `json:"touched"`
}

func (s *Server) listDomains(w http.ResponseWriter) {
	s.mu.Lock()
	out := make([]wireDomain, 0, len(s.zones))
	for _, z := range s.zones {
		out = append(out, wireDomain{Created: z.created, Name: z.name, MinimumTTL: MinimumTTL, Published: z.created, Touched: z.created})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getDomain(w http.ResponseWriter, name string) {
	s.mu.Lock()
	z := s.zones[name]
	s.mu.Unlock()
	if z == nil {
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	writeJSON(w, http.StatusOK, wireDomain{Created: z.created, Name: z.name, MinimumTTL: MinimumTTL, Published: z.created, Touched: z.created})
}

func sortedKeys(z *zone) []key {
	keys := make([]key, 0, len(z.sets))
	for k := range z.sets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].subname != keys[j].subname {
			return keys[i].subname < keys[j].subname
		}
		return keys[i].typ < keys[j].typ
	})
	return keys
}

// listRRsets answers the whole domain, or 400 when it holds more than 500
// RRsets and no cursor was given; with ?cursor= it pages by 500 with a Link
// header (the cursor here is a plain offset, deSEC's is opaque).
func (s *Server) listRRsets(w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	filterSub, hasSub := q["subname"]
	filterType, hasType := q["type"]
	s.mu.Lock()
	z := s.zones[name]
	if z == nil {
		s.mu.Unlock()
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	keys := sortedKeys(z)
	out := make([]wireRRset, 0, len(keys))
	for _, k := range keys {
		if hasSub && k.subname != filterSub[0] || hasType && k.typ != filterType[0] {
			continue
		}
		out = append(out, z.wire(k, z.sets[k]))
	}
	s.mu.Unlock()

	base := *r.URL
	base.Scheme, base.Host = "http", r.Host
	link := func(cursor string) string {
		v := base.Query()
		v.Set("cursor", cursor)
		u := base
		u.RawQuery = v.Encode()
		return "<" + u.String() + ">"
	}
	cursor, paged := q["cursor"]
	if !paged {
		if len(out) > pageSize {
			w.Header().Set("Link", link("")+`; rel="first"`)
			detail(w, http.StatusBadRequest, fmt.Sprintf("Pagination required. You can query up to %d items at a time (%d total). Please use the `first` page link (see Link header).", pageSize, len(out)))
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	start, _ := strconv.Atoi(cursor[0])
	start = min(max(start, 0), len(out))
	end := min(start+pageSize, len(out))
	links := []string{link("") + `; rel="first"`}
	if start > 0 {
		links = append(links, link(strconv.Itoa(max(start-pageSize, 0)))+`; rel="prev"`)
	}
	if end < len(out) {
		links = append(links, link(strconv.Itoa(end))+`; rel="next"`)
	}
	w.Header().Set("Link", strings.Join(links, ", "))
	writeJSON(w, http.StatusOK, out[start:end])
}

func (s *Server) getRRset(w http.ResponseWriter, name, sub, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[name]
	if z == nil {
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	set := z.sets[key{sub, typ}]
	if set == nil {
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	writeJSON(w, http.StatusOK, z.wire(key{sub, typ}, set))
}

// bulkItem is one RRset of a bulk request; pointers tell absent from empty.
type bulkItem struct {
	Subname *string          `json:"subname"`
	Type    *string          `json:"type"`
	TTL     *json.RawMessage `json:"ttl"`
	Records *json.RawMessage `json:"records"`
}

type checked struct {
	k       key
	ttl     int
	hasTTL  bool
	records []string
	hasRecs bool
	empty   bool
}

// bulk applies a PUT or PATCH of a list of RRsets atomically. RRsets not
// named are left alone; `records: []` deletes an RRset.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request, name string, partial bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		detail(w, http.StatusBadRequest, "Could not read the request body.")
		return
	}
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		detail(w, http.StatusBadRequest, "JSON parse error - "+err.Error())
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string][]string{"non_field_errors": {"Expected a list of items but got " + jsonKind(raw) + "."}})
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[name]
	if z == nil {
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	errs := make([]map[string]any, len(items))
	results := make([]*checked, len(items))
	positions := map[key][]int{}
	for i, it := range items {
		errs[i] = map[string]any{}
		var item bulkItem
		if err := json.Unmarshal(it, &item); err != nil {
			errs[i]["non_field_errors"] = "Expected a dictionary, but got " + jsonKind(it) + "."
			continue
		}
		c := &checked{}
		if item.Subname == nil {
			errs[i]["subname"] = []string{"This field is required."}
		} else {
			c.k.subname = *item.Subname
		}
		if item.Type == nil {
			errs[i]["type"] = []string{"This field is required."}
		} else {
			c.k.typ = *item.Type
		}
		if len(errs[i]) == 0 {
			positions[c.k] = append(positions[c.k], i)
			results[i] = c
		}
		if item.Records != nil {
			if string(*item.Records) == "null" {
				errs[i]["records"] = []string{"This field may not be null."}
			} else if err := json.Unmarshal(*item.Records, &c.records); err != nil {
				errs[i]["records"] = map[string][]string{"non_field_errors": {"Expected a list of items but got " + jsonKind(*item.Records) + "."}}
			} else {
				c.hasRecs = true
				c.empty = len(c.records) == 0
			}
		}
		if item.TTL != nil {
			var ttl int
			if err := json.Unmarshal(*item.TTL, &ttl); err != nil {
				errs[i]["ttl"] = []string{"A valid integer is required."}
			} else {
				c.ttl, c.hasTTL = ttl, true
			}
		}
	}

	// Other types at a subname, as CNAME exclusivity sees them: stored ones
	// count unless this request deletes them.
	for i, c := range results {
		if c == nil || len(errs[i]) > 0 {
			continue
		}
		s.checkItem(z, c, partial, positions, results, errs[i], i)
	}
	failed := false
	for _, e := range errs {
		if len(e) > 0 {
			failed = true
		}
	}
	if failed {
		writeJSON(w, http.StatusBadRequest, errs)
		return
	}

	// Deletions first, so CNAME exclusivity holds after each step.
	t := now()
	var saved []wireRRset
	for _, c := range results {
		if c.empty {
			delete(z.sets, c.k)
		}
	}
	for _, c := range results {
		if c.empty {
			continue
		}
		set := z.sets[c.k]
		if set == nil {
			set = &rrset{created: t}
			z.sets[c.k] = set
		}
		if c.hasTTL {
			set.ttl = c.ttl
		}
		if c.hasRecs {
			set.records = c.records
		}
		set.touched = t
		saved = append(saved, z.wire(c.k, set))
	}
	if saved == nil {
		saved = []wireRRset{}
	}
	writeJSON(w, http.StatusOK, saved)
}

// checkItem validates one RRset of a bulk request the way deSEC's
// RRsetListSerializer and RRsetSerializer do, recording errors in e.
func (s *Server) checkItem(z *zone, c *checked, partial bool, positions map[key][]int, results []*checked, e map[string]any, idx int) {
	if others := positions[c.k]; len(others) > 1 {
		var pos []string
		for _, p := range others {
			if p != idx {
				pos = append(pos, strconv.Itoa(p))
			}
		}
		e["non_field_errors"] = []string{"Same subname and type as in position(s) " + strings.Join(pos, ", ") + ", but must be unique."}
		return
	}
	_, known := z.sets[c.k]
	if !c.empty {
		if msg := cnameConflict(z, c, positions, results); msg != "" {
			e["non_field_errors"] = []string{msg}
			return
		}
	}
	// PATCH may leave fields out, except when it creates an RRset.
	needAll := !partial || (!known && !c.empty)
	if needAll && !c.hasRecs {
		e["records"] = []string{"This field is required."}
	}
	if needAll && !c.hasTTL && !c.empty {
		e["ttl"] = []string{"This field is required."}
	}
	if !subnameRe.MatchString(c.k.subname) {
		e["subname"] = []string{"Subname can only use (lowercase) a-z, 0-9, ., -, and _, may start with a '*.', or just be '*'. Components may not exceed 63 characters."}
	}
	switch {
	case !typeRe.MatchString(c.k.typ):
		e["type"] = []string{"Type must be uppercase alphanumeric and start with a letter."}
	case automaticTypes[c.k.typ]:
		e["type"] = []string{fmt.Sprintf("You cannot tinker with the %s RR set. It is managed automatically.", c.k.typ)}
	case strings.HasPrefix(c.k.typ, "TYPE"):
		e["type"] = []string{"Generic type format is not supported."}
	case dns.StringToType[c.k.typ] == 0:
		e["type"] = []string{fmt.Sprintf("The %s RR set type is currently unsupported.", c.k.typ)}
	}
	if c.hasTTL {
		switch {
		case c.ttl < MinimumTTL:
			e["ttl"] = []string{fmt.Sprintf("Ensure this value is greater than or equal to %d.", MinimumTTL)}
		case c.ttl > MaximumTTL:
			e["ttl"] = []string{fmt.Sprintf("Ensure this value is less than or equal to %d.", MaximumTTL)}
		}
	}
	if len(e) > 0 || !c.hasRecs || c.empty {
		return
	}
	var problems []string
	if (c.k.typ == "CNAME" || c.k.typ == "DNAME") && len(c.records) > 1 {
		problems = append(problems, c.k.typ+" RRset cannot have multiple records.")
	}
	if (c.k.typ == "CNAME" || c.k.typ == "DS") && c.k.subname == "" {
		problems = append(problems, c.k.typ+" RRset cannot have empty subname.")
	}
	seen := map[string]bool{}
	canon := make([]string, 0, len(c.records))
	for _, rec := range c.records {
		cc, err := canonicalContent(c.k.typ, rec)
		if err != nil {
			e["non_field_errors"] = []string{err.Error()}
			return
		}
		norm := cc
		if c.k.typ != "TXT" && c.k.typ != "SPF" {
			norm = strings.ToLower(cc)
		}
		if seen[norm] {
			e["non_field_errors"] = []string{"Duplicate: records must be semantically unique"}
			return
		}
		seen[norm] = true
		canon = append(canon, cc)
	}
	if len(problems) > 0 {
		e["non_field_errors"] = problems
		return
	}
	sort.Strings(canon)
	c.records = canon
}

// cnameConflict reproduces deSEC's message when c would put a CNAME beside
// other data (or other data beside a CNAME), counting the stored RRsets at
// the subname ("database") unless this request deletes them.
func cnameConflict(z *zone, c *checked, positions map[key][]int, results []*checked) string {
	byPos := map[string][]string{}
	for k := range z.sets {
		if k.subname != c.k.subname || (k.typ == "CNAME") == (c.k.typ == "CNAME") {
			continue
		}
		deleted := false
		for _, p := range positions[k] {
			if results[p] != nil && results[p].empty {
				deleted = true
			}
		}
		if !deleted {
			byPos["database"] = append(byPos["database"], k.typ)
		}
	}
	for k, ps := range positions {
		if k.subname != c.k.subname || (k.typ == "CNAME") == (c.k.typ == "CNAME") {
			continue
		}
		for _, p := range ps {
			if results[p] != nil && !results[p].empty {
				byPos[strconv.Itoa(p)] = append(byPos[strconv.Itoa(p)], k.typ)
			}
		}
	}
	if len(byPos) == 0 {
		return ""
	}
	var order []string
	for p := range byPos {
		if p != "database" {
			order = append(order, p)
		}
	}
	sort.Slice(order, func(i, j int) bool {
		a, _ := strconv.Atoi(order[i])
		b, _ := strconv.Atoi(order[j])
		return a < b
	})
	if byPos["database"] != nil {
		order = append(order, "database")
	}
	parts := make([]string, len(order))
	for i, p := range order {
		types := byPos[p]
		sort.Strings(types)
		parts[i] = fmt.Sprintf("%s (%s)", p, strings.Join(types, ", "))
	}
	return "RRset with conflicting type present: " + strings.Join(parts, ", ") + ". (No other RRsets are allowed alongside CNAME.)"
}

func jsonKind(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	switch {
	case strings.HasPrefix(s, "{"):
		return "dict"
	case strings.HasPrefix(s, "["):
		return "list"
	case strings.HasPrefix(s, `"`):
		return "str"
	case s == "null":
		return "NoneType"
	case s == "true" || s == "false":
		return "bool"
	}
	return "int"
}
