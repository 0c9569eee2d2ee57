// Package cloudflarefake is a local fake of the Cloudflare v4 DNS API, as
// far as github.com/libdns/cloudflare uses it: zone lookup and listing, the
// dns_records list with its filters and paging, create, patch and delete.
// Records are stored the way Cloudflare stores them (FQDN names without the
// dot, content as sent, TTL 1 for automatic) and the same-name rules and
// error bodies follow the real service.
package cloudflarefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libdns/cloudflare"
	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
)

const apiPrefix = "/client/v4"

// Server is a running Cloudflare API fake. It implements fakeapi.Fake.
type Server struct {
	*fakeapi.Server
	token string

	mu      sync.Mutex
	zones   map[string]*zone // by id
	byName  map[string]*zone
	nextID  uint64
	timeNow func() time.Time
	account struct{ ID, Name string }
}

var _ fakeapi.Fake = (*Server)(nil)

// New starts a fake on a loopback port that accepts only the bearer token
// token; the caller must Close it.
func New(token string, opts fakeapi.Options) *Server {
	s := &Server{
		token:   token,
		zones:   map[string]*zone{},
		byName:  map[string]*zone{},
		timeNow: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
	s.account.ID, s.account.Name = "0123456789abcdef0123456789abcdef", "fake account"
	s.Server = fakeapi.NewServer(s.routes(), classify, opts, writeThrottled)
	return s
}

// Provider returns the unmodified libdns client pointed at the fake through
// its HTTPClient field; no global state is touched.
func (s *Server) Provider() *cloudflare.Provider {
	return &cloudflare.Provider{
		APIToken:   s.token,
		HTTPClient: &http.Client{Transport: s.Transport()},
	}
}

// AddZone creates an empty zone (Cloudflare lists no SOA or NS records in
// dns_records); it does nothing if the zone exists.
func (s *Server) AddZone(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addZoneLocked(name)
}

func (s *Server) addZoneLocked(name string) *zone {
	name = canonicalZone(name)
	if z := s.byName[name]; z != nil {
		return z
	}
	z := newZone(name, s.timeNow())
	s.zones[z.ID] = z
	s.byName[name] = z
	return z
}

// ZoneID returns the id Cloudflare gave the zone, or "" if it is unknown.
func (s *Server) ZoneID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if z := s.byName[canonicalZone(name)]; z != nil {
		return z.ID
	}
	return ""
}

func canonicalZone(name string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
}

// Seed adds records given in presentation format with absolute names,
// stored as the current libdns client would have written them (TXT
// content quoted). The zone is created if needed.
func (s *Server) Seed(zoneName string, rrs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.addZoneLocked(zoneName)
	for _, line := range rrs {
		rr, err := dns.NewRR(line)
		if err != nil {
			return fmt.Errorf("zone %s: seed %q: %w", z.Name, line, err)
		}
		if rr == nil {
			continue
		}
		if !dns.IsSubDomain(dns.Fqdn(z.Name), rr.Header().Name) {
			return fmt.Errorf("zone %s: seed %q: name is outside the zone", z.Name, line)
		}
		r, err := fromRR(rr)
		if err != nil {
			return fmt.Errorf("zone %s: seed %q: %w", z.Name, line, err)
		}
		if e := s.insertLocked(z, r); e != nil {
			return fmt.Errorf("zone %s: seed %q: Cloudflare would refuse it: %w", z.Name, line, e)
		}
	}
	return nil
}

// SeedRaw stores one record exactly as given, bypassing every check the API
// makes: for legacy forms such as unquoted TXT content. name may be
// relative, "@" or absolute; ttl 1 means automatic.
func (s *Server) SeedRaw(zoneName, name, typ, content string, ttl int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.addZoneLocked(zoneName)
	now := s.timeNow()
	r := &record{
		ID:       s.newIDLocked(),
		ZoneID:   z.ID,
		Type:     strings.ToUpper(typ),
		Name:     normalizeName(name, z.Name),
		Content:  content,
		TTL:      max(ttl, autoTTL),
		Created:  now,
		Modified: now,
	}
	z.add(r)
	return nil
}

// SetProxied turns Cloudflare's proxy (the orange cloud) on or off for
// every record at name in the zone, as the dashboard's toggle does.
func (s *Server) SetProxied(zoneName, name string, proxied bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.byName[canonicalZone(zoneName)]
	if z == nil {
		return fmt.Errorf("cloudflarefake: no zone %s", zoneName)
	}
	recs := z.byName[normalizeName(name, z.Name)]
	if len(recs) == 0 {
		return fmt.Errorf("cloudflarefake: no record at %s in %s", name, zoneName)
	}
	for _, r := range recs {
		r.Proxied = proxied
	}
	return nil
}

// Dump returns the zone's records as DNS would serve them, one canonical
// presentation line each, sorted.
func (s *Server) Dump(zoneName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.byName[canonicalZone(zoneName)]
	if z == nil {
		return nil
	}
	out := make([]string, 0, len(z.byID))
	for _, r := range z.byID {
		out = append(out, presentation(r))
	}
	sort.Strings(out)
	return out
}

func (s *Server) newIDLocked() string {
	s.nextID++
	n := s.nextID
	// Looks like Cloudflare's 32 hex digit ids, and stays unique.
	return fmt.Sprintf("%016x%016x", n*0x9e3779b97f4a7c15, n)
}

// insertLocked validates r like the API does and stores it.
func (s *Server) insertLocked(z *zone, r *record) *apiError {
	if e := validate(r); e != nil {
		return e
	}
	if e := z.checkConflicts(r, ""); e != nil {
		return e
	}
	now := s.timeNow()
	r.ID, r.ZoneID, r.Created, r.Modified = s.newIDLocked(), z.ID, now, now
	z.add(r)
	return nil
}

// classify names a request's kind for the counters: "zone" for zone
// lookups, "read" for record listings, "write" for record changes.
func classify(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, apiPrefix)
	switch {
	case !strings.HasPrefix(p, "/zones"):
		return "other"
	case !strings.Contains(p, "/dns_records"):
		return "zone"
	case r.Method == http.MethodGet:
		return "read"
	default:
		return "write"
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/zones", s.listZones)
	mux.HandleFunc("GET "+apiPrefix+"/zones/{zone}", s.getZone)
	mux.HandleFunc("GET "+apiPrefix+"/zones/{zone}/dns_records", s.listRecords)
	mux.HandleFunc("POST "+apiPrefix+"/zones/{zone}/dns_records", s.createRecord)
	mux.HandleFunc("GET "+apiPrefix+"/zones/{zone}/dns_records/{id}", s.getRecord)
	mux.HandleFunc("PATCH "+apiPrefix+"/zones/{zone}/dns_records/{id}", s.patchRecord)
	mux.HandleFunc("PUT "+apiPrefix+"/zones/{zone}/dns_records/{id}", s.putRecord)
	mux.HandleFunc("DELETE "+apiPrefix+"/zones/{zone}/dns_records/{id}", s.deleteRecord)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{404, 7000, "No route for that URI"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := s.authorize(r); e != nil {
			writeError(w, e)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) authorize(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" || strings.ContainsAny(tok, " \t") {
		return &apiError{400, 6003, "Invalid request headers"}
	}
	if tok != s.token {
		return &apiError{403, 10000, "Authentication error"}
	}
	return nil
}

// envelope is Cloudflare's response wrapper.
type envelope struct {
	Result     any         `json:"result"`
	Success    bool        `json:"success"`
	Errors     []errorItem `json:"errors"`
	Messages   []any       `json:"messages"`
	ResultInfo *resultInfo `json:"result_info,omitempty"`
}

type errorItem struct {
	Code       int         `json:"code"`
	Message    string      `json:"message"`
	ErrorChain []errorItem `json:"error_chain,omitempty"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeResult(w http.ResponseWriter, result any, info *resultInfo) {
	writeJSON(w, http.StatusOK, envelope{Result: result, Success: true, Errors: []errorItem{}, Messages: []any{}, ResultInfo: info})
}

func writeError(w http.ResponseWriter, e *apiError) {
	item := errorItem{Code: e.Code, Message: e.Message}
	if e.Code == 6003 {
		item.ErrorChain = []errorItem{{Code: 6111, Message: "Invalid format for Authorization header"}}
	}
	writeJSON(w, e.Status, envelope{Result: nil, Success: false, Errors: []errorItem{item}, Messages: []any{}})
}

// ThrottledBody is the body Cloudflare sends with a 429.
const ThrottledBody = `{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}],"messages":[],"result":null}`

func writeThrottled(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(ThrottledBody))
}

// paging reads page and per_page the way the API does, with its bounds.
func paging(q url.Values, def, limit int) (page, perPage int, e *apiError) {
	page, perPage = 1, def
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, &apiError{400, 1004, "page must be a positive integer"}
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, &apiError{400, 1004, "per_page must be a positive integer"}
		}
		perPage = min(max(n, 5), limit)
	}
	return page, perPage, nil
}

func pageOf[T any](items []T, page, perPage int) ([]T, *resultInfo) {
	total := len(items)
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	out := items[start:end]
	return out, &resultInfo{
		Page:       page,
		PerPage:    perPage,
		Count:      len(out),
		TotalCount: total,
		TotalPages: (total + perPage - 1) / perPage,
	}
}

func (s *Server) zoneJSON(z *zone) map[string]any {
	return map[string]any{
		"id":                    z.ID,
		"name":                  z.Name,
		"status":                "active",
		"paused":                false,
		"type":                  "full",
		"development_mode":      0,
		"name_servers":          []string{"ada.ns.cloudflare.com", "bob.ns.cloudflare.com"},
		"original_name_servers": []string{},
		"original_registrar":    nil,
		"original_dnshost":      nil,
		"created_on":            z.Created,
		"modified_on":           z.Created,
		"activated_on":          z.Created,
		"account":               map[string]string{"id": s.account.ID, "name": s.account.Name},
		"permissions":           []string{"#dns_records:edit", "#dns_records:read", "#zone:read"},
		"plan": map[string]any{
			"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "price": 0,
			"currency": "USD", "frequency": "", "legacy_id": "free",
			"is_subscribed": false, "can_subscribe": false,
		},
	}
}

func (s *Server) listZones(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, perPage, e := paging(q, 20, 50)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	var zs []*zone
	if name := q.Get("name"); name != "" {
		if z := s.byName[canonicalZone(name)]; z != nil {
			zs = append(zs, z)
		}
	} else {
		for _, z := range s.byName {
			zs = append(zs, z)
		}
		sort.Slice(zs, func(i, j int) bool { return zs[i].Name < zs[j].Name })
	}
	pg, info := pageOf(zs, page, perPage)
	out := make([]map[string]any, len(pg))
	for i, z := range pg {
		out[i] = s.zoneJSON(z)
	}
	s.mu.Unlock()
	writeResult(w, out, info)
}

// zoneFor finds the zone named in the path; the caller holds s.mu.
func (s *Server) zoneFor(r *http.Request) (*zone, *apiError) {
	id := r.PathValue("zone")
	if z := s.zones[id]; z != nil {
		return z, nil
	}
	return nil, &apiError{400, 7003, fmt.Sprintf("Could not route to %s, perhaps your object identifier is invalid?", r.URL.Path)}
}

func (s *Server) getZone(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	z, e := s.zoneFor(r)
	var out map[string]any
	if e == nil {
		out = s.zoneJSON(z)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeResult(w, out, nil)
}

func recordJSON(z *zone, r *record) map[string]any {
	m := map[string]any{
		"id":          r.ID,
		"zone_id":     z.ID,
		"zone_name":   z.Name,
		"name":        r.Name,
		"type":        r.Type,
		"content":     r.Content,
		"proxiable":   r.Type == "A" || r.Type == "AAAA" || r.Type == "CNAME",
		"proxied":     r.Proxied,
		"ttl":         r.TTL,
		"locked":      false,
		"settings":    map[string]any{},
		"meta":        map[string]any{"auto_added": false, "managed_by_apps": false, "managed_by_argo_tunnel": false},
		"comment":     nil,
		"tags":        []string{},
		"created_on":  r.Created,
		"modified_on": r.Modified,
	}
	if r.Type == "MX" || r.Type == "SRV" || r.Type == "URI" {
		m["priority"] = r.Priority
	}
	switch {
	case r.SRV != nil:
		m["data"] = map[string]any{"priority": r.SRV.Priority, "weight": r.SRV.Weight, "port": r.SRV.Port, "target": r.SRV.Target}
	case r.CAA != nil:
		m["data"] = map[string]any{"flags": r.CAA.Flags, "tag": r.CAA.Tag, "value": r.CAA.Value}
	case r.TLSA != nil:
		m["data"] = map[string]any{"usage": r.TLSA.Usage, "selector": r.TLSA.Selector, "matching_type": r.TLSA.MatchingType, "certificate": r.TLSA.Certificate}
	}
	return m
}

// matches applies the list filters the client uses; Cloudflare compares
// content case-insensitively.
func matches(r *record, q url.Values) bool {
	if t := q.Get("type"); t != "" && !strings.EqualFold(t, r.Type) {
		return false
	}
	for _, k := range []string{"content", "content.exact"} {
		if v := q.Get(k); v != "" && !strings.EqualFold(v, r.Content) {
			return false
		}
	}
	if v := q.Get("content.contains"); v != "" && !strings.Contains(strings.ToLower(r.Content), strings.ToLower(v)) {
		return false
	}
	return true
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, perPage, e := paging(q, 100, 5000000)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	z, e := s.zoneFor(r)
	if e != nil {
		s.mu.Unlock()
		writeError(w, e)
		return
	}
	var candidates []*record
	name := q.Get("name")
	if name == "" {
		name = q.Get("name.exact")
	}
	if name != "" {
		for _, rec := range z.byName[normalizeName(name, z.Name)] {
			candidates = append(candidates, rec)
		}
		sortRecords(candidates)
	} else {
		candidates = z.all()
	}
	filtered := candidates
	if q.Get("type") != "" || q.Get("content") != "" || q.Get("content.exact") != "" || q.Get("content.contains") != "" {
		filtered = make([]*record, 0, len(candidates))
		for _, rec := range candidates {
			if matches(rec, q) {
				filtered = append(filtered, rec)
			}
		}
	}
	pg, info := pageOf(filtered, page, perPage)
	out := make([]map[string]any, len(pg))
	for i, rec := range pg {
		out[i] = recordJSON(z, rec)
	}
	s.mu.Unlock()
	writeResult(w, out, info)
}

// recordInput is a create or update body; pointers tell absent from zero.
type recordInput struct {
	Type     *string `json:"type"`
	Name     *string `json:"name"`
	Content  *string `json:"content"`
	TTL      *int    `json:"ttl"`
	Priority *uint16 `json:"priority"`
	Proxied  *bool   `json:"proxied"`
	Data     *struct {
		Priority *uint16 `json:"priority"`
		Weight   uint16  `json:"weight"`
		Port     uint16  `json:"port"`
		Target   string  `json:"target"`
		Flags    *int    `json:"flags"`
		Tag      string  `json:"tag"`
		Value    string  `json:"value"`
		// TLSA
		Usage        *int   `json:"usage"`
		Selector     *int   `json:"selector"`
		MatchingType *int   `json:"matching_type"`
		Certificate  string `json:"certificate"`
	} `json:"data"`
}

func decodeInput(w http.ResponseWriter, r *http.Request) (*recordInput, *apiError) {
	var in recordInput
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		return nil, &apiError{400, 9207, "Request body is invalid."}
	}
	return &in, nil
}

// apply copies the fields present in in onto rec.
func (in *recordInput) apply(rec *record, zoneName string) {
	if in.Type != nil && *in.Type != "" {
		rec.Type = strings.ToUpper(*in.Type)
	}
	if in.Name != nil && *in.Name != "" {
		rec.Name = normalizeName(*in.Name, zoneName)
	}
	if in.Content != nil && *in.Content != "" {
		rec.Content = *in.Content
	}
	if in.TTL != nil && *in.TTL != 0 {
		rec.TTL = *in.TTL
	}
	if in.Priority != nil {
		rec.Priority = *in.Priority
	}
	if in.Proxied != nil {
		rec.Proxied = *in.Proxied
	}
	if d := in.Data; d != nil {
		switch rec.Type {
		case "SRV":
			p := rec.Priority
			if d.Priority != nil {
				p = *d.Priority
			}
			rec.SRV = &srvData{Priority: p, Weight: d.Weight, Port: d.Port, Target: d.Target}
		case "CAA":
			flags := 0
			if d.Flags != nil {
				flags = *d.Flags
			}
			rec.CAA = &caaData{Flags: flags, Tag: d.Tag, Value: d.Value}
		case "TLSA":
			// A field left out is missing, not zero: usage 0 is PKIX-TA.
			if d.Usage == nil || d.Selector == nil || d.MatchingType == nil {
				rec.TLSA = &tlsaData{}
				break
			}
			rec.TLSA = &tlsaData{Usage: *d.Usage, Selector: *d.Selector, MatchingType: *d.MatchingType, Certificate: d.Certificate}
		}
	}
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) {
	in, e := decodeInput(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	z, e := s.zoneFor(r)
	var out map[string]any
	if e == nil {
		if in.Name == nil || *in.Name == "" {
			e = &apiError{400, 9005, "DNS record name is required."}
		} else {
			rec := &record{}
			in.apply(rec, z.Name)
			if e = s.insertLocked(z, rec); e == nil {
				out = recordJSON(z, rec)
			}
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeResult(w, out, nil)
}

func (s *Server) recordFor(r *http.Request) (*zone, *record, *apiError) {
	z, e := s.zoneFor(r)
	if e != nil {
		return nil, nil, e
	}
	rec := z.byID[r.PathValue("id")]
	if rec == nil {
		return nil, nil, &apiError{404, 81044, "Record does not exist."}
	}
	return z, rec, nil
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	z, rec, e := s.recordFor(r)
	var out map[string]any
	if e == nil {
		out = recordJSON(z, rec)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeResult(w, out, nil)
}

func (s *Server) patchRecord(w http.ResponseWriter, r *http.Request) { s.update(w, r, false) }
func (s *Server) putRecord(w http.ResponseWriter, r *http.Request)   { s.update(w, r, true) }

// update changes a record: PATCH keeps the fields the body leaves out, PUT
// replaces the record with the body.
func (s *Server) update(w http.ResponseWriter, r *http.Request, replace bool) {
	in, e := decodeInput(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, old, e := s.recordFor(r)
	if e != nil {
		writeError(w, e)
		return
	}
	next := *old
	if replace {
		next = record{ID: old.ID, ZoneID: old.ZoneID, Created: old.Created}
	}
	in.apply(&next, z.Name)
	if e := validate(&next); e != nil {
		writeError(w, e)
		return
	}
	// The conflict check must see the record at its new name, without itself.
	z.remove(old)
	if e := z.checkConflicts(&next, old.ID); e != nil {
		z.add(old)
		writeError(w, e)
		return
	}
	next.Modified = s.timeNow()
	z.add(&next)
	writeResult(w, recordJSON(z, &next), nil)
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	z, rec, e := s.recordFor(r)
	if e == nil {
		z.remove(rec)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeResult(w, map[string]string{"id": rec.ID}, nil)
}
