// Package hetznerfake is a local fake of the Hetzner Cloud DNS API (zones
// and RRsets under https://api.hetzner.cloud/v1), as far as
// github.com/libdns/hetzner/v2 and hcloud-go use it: zone lookup and
// listing, paged RRset listing, RRset create and delete, the add_records,
// remove_records, set_records and change_ttl actions, and action polling.
// Values are stored in zone-file form (TXT as quoted strings of at most 255
// bytes), TTLs below 60 are raised to 60, and errors carry Hetzner's JSON
// shape and codes.
package hetznerfake

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

	"github.com/libdns/hetzner/v2"
	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
)

const apiPrefix = "/v1"

// Server is a running Hetzner Cloud DNS API fake. It implements fakeapi.Fake.
type Server struct {
	*fakeapi.Server
	token string

	mu         sync.Mutex
	zones      map[int64]*zone
	byName     map[string]*zone
	nextZoneID int64
	nextAction int64
}

var _ fakeapi.Fake = (*Server)(nil)

// New starts a fake on a loopback port that accepts only the bearer token
// token; the caller must Close it.
func New(token string, opts fakeapi.Options) *Server {
	s := &Server{
		token:      token,
		zones:      map[int64]*zone{},
		byName:     map[string]*zone{},
		nextZoneID: 1000,
	}
	s.Server = fakeapi.NewServer(s.routes(), classify, opts, writeThrottled)
	return s
}

// UseAsDefaultTransport installs s.Transport() as http.DefaultTransport and
// returns the function that restores the previous one. This is process
// global: tests that use it must not run in parallel.
func (s *Server) UseAsDefaultTransport() (restore func()) {
	prev := http.DefaultTransport
	http.DefaultTransport = s.Transport()
	return func() { http.DefaultTransport = prev }
}

// Provider returns the unmodified libdns client with the fake's token. Its
// base URL is fixed and its http.Client has no Transport of its own, so it
// reaches the fake only while http.DefaultTransport is s.Transport() (see
// UseAsDefaultTransport); it is built lazily, so that may happen after.
func (s *Server) Provider() *hetzner.Provider { return hetzner.New(s.token) }

// AddZone creates a primary zone with the SOA and NS RRsets Hetzner puts in
// every new zone; it does nothing if the zone exists.
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
	s.nextZoneID++
	z := newZone(s.nextZoneID, name, time.Now().UTC().Truncate(time.Second))
	s.zones[z.ID] = z
	s.byName[name] = z
	return z
}

func canonicalZone(name string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
}

// Seed adds records given in presentation format with absolute names:
// values in zone-file form, TTL raised to 60, one TTL per RRset (a
// different TTL for an existing RRset is an error, as with the API). A SOA
// line replaces the zone's SOA. The zone is created if needed.
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
		h := rr.Header()
		if !dns.IsSubDomain(z.Name+".", h.Name) {
			return fmt.Errorf("zone %s: seed %q: name is outside the zone", z.Name, line)
		}
		name, typ := relativeName(h.Name, z.Name), dns.TypeToString[h.Rrtype]
		ttl := max(int(h.Ttl), minTTL)
		value := strings.TrimSpace(strings.TrimPrefix(rr.String(), h.String()))
		if e := z.checkValues(name, typ, []string{value}); e != nil {
			return fmt.Errorf("zone %s: seed %q: Hetzner would refuse it: %s", z.Name, line, e.Field)
		}
		if typ == "SOA" {
			z.put(&rrset{Name: name, Type: typ, TTL: &ttl, Values: []string{value}})
			continue
		}
		if set := z.get(name, typ); set != nil {
			if z.effectiveTTL(set) != ttl {
				return fmt.Errorf("zone %s: seed %q: RRset %s has TTL %d; Hetzner keeps one TTL per RRset", z.Name, line, set.id(), z.effectiveTTL(set))
			}
			if !set.has(value) {
				set.Values = append(set.Values, value)
			}
			continue
		}
		if e := z.checkCNAME(name, typ); e != nil {
			return fmt.Errorf("zone %s: seed %q: Hetzner would refuse it: %s", z.Name, line, e.Field)
		}
		z.put(&rrset{Name: name, Type: typ, TTL: &ttl, Values: []string{value}})
	}
	return nil
}

// SeedRaw stores an RRset exactly as given, bypassing every check: for
// forms the API would not accept today. name is relative ("@" for the
// apex) or absolute with the dot; ttl 0 leaves the TTL unset (the zone's).
func (s *Server) SeedRaw(zoneName, name, typ string, ttl int, values ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.addZoneLocked(zoneName)
	if strings.HasSuffix(name, ".") {
		name = relativeName(name, z.Name)
	}
	set := &rrset{Name: strings.ToLower(name), Type: strings.ToUpper(typ), Values: append([]string(nil), values...)}
	if ttl != 0 {
		set.TTL = &ttl
	}
	z.put(set)
	return nil
}

// Dump returns every record of the zone, apex SOA and NS included, as DNS
// would serve it: one canonical presentation line each, sorted.
func (s *Server) Dump(zoneName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.byName[canonicalZone(zoneName)]
	if z == nil {
		return nil
	}
	var out []string
	for _, set := range z.all() {
		for _, v := range set.Values {
			out = append(out, z.presentation(set, v))
		}
	}
	sort.Strings(out)
	return out
}

// classify names a request's kind for the counters: "zone" for zone
// lookups, "read" for RRset reads, "write" for changes, "action" for
// action polling.
func classify(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, apiPrefix)
	switch {
	case strings.HasPrefix(p, "/actions"):
		return "action"
	case !strings.HasPrefix(p, "/zones"):
		return "other"
	case !strings.Contains(p, "/rrsets"):
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
	mux.HandleFunc("GET "+apiPrefix+"/zones/{zone}/rrsets", s.listRRsets)
	mux.HandleFunc("POST "+apiPrefix+"/zones/{zone}/rrsets", s.createRRset)
	mux.HandleFunc("GET "+apiPrefix+"/zones/{zone}/rrsets/{name}/{type}", s.getRRset)
	mux.HandleFunc("DELETE "+apiPrefix+"/zones/{zone}/rrsets/{name}/{type}", s.deleteRRset)
	mux.HandleFunc("POST "+apiPrefix+"/zones/{zone}/rrsets/{name}/{type}/actions/{action}", s.rrsetAction)
	mux.HandleFunc("GET "+apiPrefix+"/actions", s.listActions)
	mux.HandleFunc("GET "+apiPrefix+"/actions/{id}", s.getAction)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{404, "not_found", "the requested resource was not found", ""})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok != s.token {
			writeError(w, &apiError{401, "unauthorized", "unable to authenticate", ""})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	details := map[string]any{}
	if e.Code == "invalid_input" {
		name, msg, _ := strings.Cut(e.Field, ": ")
		details["fields"] = []map[string]any{{"name": name, "messages": []string{msg}}}
	}
	writeJSON(w, e.Status, map[string]any{"error": map[string]any{"code": e.Code, "message": e.Message, "details": details}})
}

// ThrottledBody is the body Hetzner sends with a 429.
const ThrottledBody = `{"error":{"code":"rate_limit_exceeded","message":"limit of 3600 requests per hour reached","details":{}}}`

func writeThrottled(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("RateLimit-Limit", "3600")
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10))
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(ThrottledBody))
}

type pagination struct {
	Page         int  `json:"page"`
	PerPage      int  `json:"per_page"`
	PreviousPage *int `json:"previous_page"`
	NextPage     *int `json:"next_page"`
	LastPage     int  `json:"last_page"`
	TotalEntries int  `json:"total_entries"`
}

func paging(q url.Values) (page, perPage int, e *apiError) {
	page, perPage = 1, 25
	for key, dst := range map[string]*int{"page": &page, "per_page": &perPage} {
		if v := q.Get(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return 0, 0, invalidInput(key, "must be a positive integer")
			}
			*dst = n
		}
	}
	return page, min(perPage, 100), nil
}

func pageOf[T any](items []T, page, perPage int) ([]T, map[string]any) {
	total := len(items)
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	p := pagination{Page: page, PerPage: perPage, TotalEntries: total, LastPage: max(1, (total+perPage-1)/perPage)}
	if page > 1 {
		prev := page - 1
		p.PreviousPage = &prev
	}
	if page < p.LastPage {
		next := page + 1
		p.NextPage = &next
	}
	return items[start:end], map[string]any{"pagination": p}
}

func zoneJSON(z *zone) map[string]any {
	return map[string]any{
		"id":                  z.ID,
		"name":                z.Name,
		"created":             z.Created,
		"ttl":                 z.TTL,
		"mode":                "primary",
		"primary_nameservers": []any{},
		"protection":          map[string]bool{"delete": false},
		"labels":              map[string]string{},
		"authoritative_nameservers": map[string]any{
			"assigned":              defaultNS,
			"delegated":             defaultNS,
			"delegation_last_check": z.Created,
			"delegation_status":     "valid",
		},
		"registrar":    "other",
		"status":       "ok",
		"record_count": z.count,
	}
}

func rrsetJSON(z *zone, r *rrset) map[string]any {
	recs := make([]map[string]string, len(r.Values))
	for i, v := range r.Values {
		recs[i] = map[string]string{"value": v, "comment": ""}
	}
	return map[string]any{
		"id":         r.id(),
		"name":       r.Name,
		"type":       r.Type,
		"ttl":        r.TTL,
		"labels":     map[string]string{},
		"protection": map[string]bool{"change": false},
		"records":    recs,
		"zone":       z.ID,
	}
}

// zoneFor finds the zone named in the path by id or name; the caller holds s.mu.
func (s *Server) zoneFor(r *http.Request) (*zone, *apiError) {
	key := r.PathValue("zone")
	if id, err := strconv.ParseInt(key, 10, 64); err == nil {
		if z := s.zones[id]; z != nil {
			return z, nil
		}
	} else if z := s.byName[canonicalZone(key)]; z != nil {
		return z, nil
	}
	return nil, &apiError{404, "not_found", "zone not found", ""}
}

func (s *Server) listZones(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, perPage, e := paging(q)
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
		for _, z := range s.zones {
			zs = append(zs, z)
		}
		sort.Slice(zs, func(i, j int) bool { return zs[i].ID < zs[j].ID })
	}
	pg, meta := pageOf(zs, page, perPage)
	out := make([]map[string]any, len(pg))
	for i, z := range pg {
		out[i] = zoneJSON(z)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"zones": out, "meta": meta})
}

func (s *Server) getZone(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	z, e := s.zoneFor(r)
	var out map[string]any
	if e == nil {
		out = zoneJSON(z)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"zone": out})
}

func (s *Server) listRRsets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, perPage, e := paging(q)
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
	sets := z.all()
	if name, types := q.Get("name"), q["type"]; name != "" || len(types) > 0 {
		var filtered []*rrset
		for _, set := range sets {
			if (name == "" || set.Name == strings.ToLower(name)) && (len(types) == 0 || contains(types, set.Type)) {
				filtered = append(filtered, set)
			}
		}
		sets = filtered
	}
	pg, meta := pageOf(sets, page, perPage)
	out := make([]map[string]any, len(pg))
	for i, set := range pg {
		out[i] = rrsetJSON(z, set)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"rrsets": out, "meta": meta})
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// rrsetInput is the body of RRset creation and of the record actions.
type rrsetInput struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	TTL     *int   `json:"ttl"`
	Records []struct {
		Value   string `json:"value"`
		Comment string `json:"comment"`
	} `json:"records"`
}

func (in *rrsetInput) values() []string {
	out := make([]string, len(in.Records))
	for i, r := range in.Records {
		out[i] = r.Value
	}
	return out
}

func decode(w http.ResponseWriter, r *http.Request) (*rrsetInput, *apiError) {
	var in rrsetInput
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		return nil, &apiError{400, "json_error", "invalid JSON in request body", ""}
	}
	if in.TTL != nil && *in.TTL < minTTL {
		raised := minTTL
		in.TTL = &raised
	}
	return &in, nil
}

func validName(name string) bool {
	if name == "@" {
		return true
	}
	if name == "" || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return false
	}
	_, ok := dns.IsDomainName(name)
	return ok
}

// action answers a change at once as finished, so the client never polls.
func (s *Server) actionLocked(command string, z *zone) map[string]any {
	s.nextAction++
	return actionJSON(s.nextAction, command, z.ID)
}

func actionJSON(id int64, command string, zoneID int64) map[string]any {
	now := time.Now().UTC().Truncate(time.Second)
	return map[string]any{
		"id":        id,
		"command":   command,
		"status":    "success",
		"progress":  100,
		"started":   now,
		"finished":  now,
		"resources": []map[string]any{{"id": zoneID, "type": "zone"}},
		"error":     nil,
	}
}

func (s *Server) createRRset(w http.ResponseWriter, r *http.Request) {
	in, e := decode(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, e := s.zoneFor(r)
	if e != nil {
		writeError(w, e)
		return
	}
	name, typ := strings.ToLower(in.Name), strings.ToUpper(in.Type)
	if !validName(name) {
		writeError(w, invalidInput("name", fmt.Sprintf("invalid RRSet name %q: use a name relative to the zone, or @", in.Name)))
		return
	}
	if typ == "SOA" {
		writeError(w, invalidInput("type", "the SOA RRSet is managed by Hetzner"))
		return
	}
	if z.get(name, typ) != nil {
		writeError(w, &apiError{409, "uniqueness_error", "RRSet with the same name and type already exists", ""})
		return
	}
	values := dedupe(in.values())
	if e := z.checkValues(name, typ, values); e != nil {
		writeError(w, e)
		return
	}
	if e := z.checkCNAME(name, typ); e != nil {
		writeError(w, e)
		return
	}
	set := &rrset{Name: name, Type: typ, TTL: in.TTL, Values: values}
	z.put(set)
	writeJSON(w, http.StatusCreated, map[string]any{"rrset": rrsetJSON(z, set), "action": s.actionLocked("create_rrset", z)})
}

func dedupe(values []string) []string {
	out := make([]string, 0, len(values))
	seen := make(map[string]bool, len(values))
	for _, v := range values {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// rrsetFor reads the RRset named in the path; set is nil when it does not exist.
func (s *Server) rrsetFor(r *http.Request) (z *zone, name, typ string, set *rrset, e *apiError) {
	z, e = s.zoneFor(r)
	if e != nil {
		return nil, "", "", nil, e
	}
	name, typ = strings.ToLower(r.PathValue("name")), strings.ToUpper(r.PathValue("type"))
	return z, name, typ, z.get(name, typ), nil
}

var errRRsetNotFound = &apiError{404, "not_found", "RRSet not found", ""}

func (s *Server) getRRset(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, _, _, set, e := s.rrsetFor(r)
	if e == nil && set == nil {
		e = errRRsetNotFound
	}
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"rrset": rrsetJSON(z, set)})
}

func (s *Server) deleteRRset(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, _, typ, set, e := s.rrsetFor(r)
	switch {
	case e != nil:
	case set == nil:
		e = errRRsetNotFound
	case typ == "SOA":
		e = invalidInput("type", "the SOA RRSet is managed by Hetzner")
	}
	if e != nil {
		writeError(w, e)
		return
	}
	z.drop(set)
	writeJSON(w, http.StatusCreated, map[string]any{"action": s.actionLocked("delete_rrset", z)})
}

func (s *Server) rrsetAction(w http.ResponseWriter, r *http.Request) {
	in, e := decode(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, name, typ, set, e := s.rrsetFor(r)
	if e == nil && typ == "SOA" {
		e = invalidInput("type", "the SOA RRSet is managed by Hetzner")
	}
	if e != nil {
		writeError(w, e)
		return
	}
	action := r.PathValue("action")
	values := dedupe(in.values())
	switch action {
	case "add_records":
		e = s.addRecords(z, name, typ, set, in.TTL, values)
	case "remove_records":
		e = removeRecords(z, set, values)
	case "set_records":
		e = setRecords(z, name, typ, set, values)
	case "change_ttl":
		if set == nil {
			e = errRRsetNotFound
		} else {
			set.TTL = in.TTL
		}
	default:
		e = &apiError{404, "not_found", "the requested resource was not found", ""}
	}
	if e != nil {
		writeError(w, e)
		return
	}
	command := map[string]string{
		"add_records": "add_rrset_records", "remove_records": "remove_rrset_records",
		"set_records": "set_rrset_records", "change_ttl": "change_rrset_ttl",
	}[action]
	writeJSON(w, http.StatusCreated, map[string]any{"action": s.actionLocked(command, z)})
}

// addRecords appends values, creating the RRset if needed; an RRset keeps
// one TTL, so a different TTL for an existing one is refused.
func (s *Server) addRecords(z *zone, name, typ string, set *rrset, ttl *int, values []string) *apiError {
	if !validName(name) {
		return invalidInput("name", fmt.Sprintf("invalid RRSet name %q", name))
	}
	if e := z.checkValues(name, typ, values); e != nil {
		return e
	}
	if set == nil {
		if e := z.checkCNAME(name, typ); e != nil {
			return e
		}
		z.put(&rrset{Name: name, Type: typ, TTL: ttl, Values: values})
		return nil
	}
	if ttl != nil && *ttl != z.effectiveTTL(set) {
		return invalidInput("ttl", fmt.Sprintf("TTL %d differs from the TTL %d of the existing RRSet", *ttl, z.effectiveTTL(set)))
	}
	var merged []string
	for _, v := range values {
		if !set.has(v) {
			merged = append(merged, v)
		}
	}
	if typ == "CNAME" && len(set.Values)+len(merged) > 1 {
		return invalidInput("records", "an RRSet of type CNAME must hold exactly one record")
	}
	set.Values = append(set.Values, merged...)
	z.sorted = nil
	return nil
}

// removeRecords drops the given values; an RRset left empty is deleted.
func removeRecords(z *zone, set *rrset, values []string) *apiError {
	if set == nil {
		return errRRsetNotFound
	}
	if len(values) == 0 {
		return invalidInput("records", "at least one record is required")
	}
	drop := make(map[string]bool, len(values))
	for _, v := range values {
		drop[v] = true
	}
	kept := set.Values[:0:0]
	for _, v := range set.Values {
		if !drop[v] {
			kept = append(kept, v)
		}
	}
	set.Values = kept
	if len(kept) == 0 {
		z.drop(set)
	}
	z.sorted = nil
	return nil
}

func setRecords(z *zone, name, typ string, set *rrset, values []string) *apiError {
	if set == nil {
		return errRRsetNotFound
	}
	if e := z.checkValues(name, typ, values); e != nil {
		return e
	}
	set.Values = values
	z.sorted = nil
	return nil
}

func (s *Server) listActions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	last := s.nextAction
	s.mu.Unlock()
	var out []map[string]any
	for _, v := range r.URL.Query()["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(w, invalidInput("id", "must be an integer"))
			return
		}
		if id >= 1 && id <= last {
			out = append(out, actionJSON(id, "rrset_action", 0))
		}
	}
	pg, meta := pageOf(out, 1, max(len(out), 1))
	writeJSON(w, http.StatusOK, map[string]any{"actions": pg, "meta": meta})
}

func (s *Server) getAction(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	last := s.nextAction
	s.mu.Unlock()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 || id > last {
		writeError(w, &apiError{404, "not_found", "action not found", ""})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"action": actionJSON(id, "rrset_action", 0)})
}
