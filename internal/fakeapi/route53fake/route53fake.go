// Package route53fake is a local fake of the AWS Route53 REST-XML API, as far
// as github.com/libdns/route53 uses it: hosted zone lookup by name, paged
// ListResourceRecordSets, ChangeResourceRecordSets with Route53's CREATE,
// UPSERT and DELETE rules, and GetChange.
package route53fake

import (
	"encoding/xml"
	"fmt"
	"github.com/mtasts-sync/mtasts-sync/internal/dnstext"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libdns/route53"
	"github.com/miekg/dns"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
)

const (
	// pageCap is the most record sets Route53 returns per page, whatever
	// maxitems asks for (the client asks for 1000).
	pageCap = 300
	// zonePageDefault is ListHostedZonesByName's default maxitems.
	zonePageDefault = 100
	// Region is the region Provider configures; any region works with the
	// endpoint override.
	Region = "us-east-1"
	// SecretAccessKey is the secret Provider configures. The fake checks only
	// the access key id, not the SigV4 signature.
	SecretAccessKey = "fake-secret-access-key"
)

// supportedTypes are the record types Route53 accepts.
var supportedTypes = map[string]bool{
	"A": true, "AAAA": true, "CAA": true, "CNAME": true, "DS": true, "HTTPS": true,
	"MX": true, "NAPTR": true, "NS": true, "PTR": true, "SOA": true, "SPF": true,
	"SRV": true, "SSHFP": true, "SVCB": true, "TLSA": true, "TXT": true,
}

type setKey struct{ name, typ string }

// rrset is one ResourceRecordSet; values are in Route53's canonical form
// (TXT as quoted octal-escaped chunks).
type rrset struct {
	ttl    int64
	values []string
}

type zone struct {
	id, name string
	sets     map[setKey]*rrset
	// order holds the keys sorted the way ListResourceRecordSets pages them;
	// kept sorted on every change so a page read is a binary search.
	order []setKey
	// types counts the record types present per name, for CNAME exclusivity.
	types map[string]map[string]bool
}

// Server is a fake Route53 endpoint on loopback. It implements fakeapi.Fake.
type Server struct {
	*fakeapi.Server
	accessKey string

	mu         sync.Mutex
	zones      map[string]*zone // by id
	byName     map[string]*zone // by canonical name
	nextZone   int
	nextChange int
	nextReq    atomic.Int64      // not under mu: errors are written with mu held
	changes    map[string]string // change id → submitted at
}

var _ fakeapi.Fake = (*Server)(nil)

// New starts a fake that accepts SigV4 requests signed with the access key
// id accessKey (the signature itself is not verified).
func New(accessKey string, opts fakeapi.Options) *Server {
	s := &Server{
		accessKey: accessKey,
		zones:     map[string]*zone{},
		byName:    map[string]*zone{},
		changes:   map[string]string{},
	}
	s.Server = fakeapi.NewServer(http.HandlerFunc(s.serve), classify, opts, s.throttled)
	return s
}

// Env returns the environment the AWS SDK needs to talk to the fake and to
// nothing else: the endpoint override, no instance metadata lookups, a
// region, empty shared config files and no named profile (a profile missing
// from the config makes the provider call log.Fatalf). Set every entry
// (t.Setenv) before the provider's first call; the SDK reads them once per
// Provider.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_ROUTE_53":   s.URL(),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_REGION":                  Region,
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_PROFILE":                 "",
		"AWS_DEFAULT_PROFILE":         "",
	}
}

// Provider returns the unmodified libdns Route53 client with static
// credentials for the fake, a region, and MaxRetries 1. The SDK treats
// MaxRetries as the maximum number of attempts, so 1 means no retry at all;
// raise it to see the SDK retry 5xx, Throttling and connection resets.
//
// The endpoint is not a Provider field: the caller must set the variables of
// Env (AWS_ENDPOINT_URL_ROUTE_53 above all) before the first call, and use a
// new Provider per test, since the SDK reads them once. If the AWS config
// cannot load, the provider calls log.Fatalf.
func (s *Server) Provider() *route53.Provider {
	return &route53.Provider{
		AccessKeyId:     s.accessKey,
		SecretAccessKey: SecretAccessKey,
		Region:          Region,
		MaxRetries:      1,
	}
}

// AddZone creates a public hosted zone holding the SOA and four NS records
// Route53 puts in every new zone. The zone's name is taken with or without
// the trailing dot.
func (s *Server) AddZone(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addZoneLocked(name)
}

// ZoneID returns the hosted zone id (without the /hostedzone/ prefix) of the
// zone, or "" when there is none.
func (s *Server) ZoneID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if z := s.byName[canonicalName(name)]; z != nil {
		return z.id
	}
	return ""
}

func (s *Server) addZoneLocked(name string) *zone {
	cn := canonicalName(name)
	if z := s.byName[cn]; z != nil {
		return z
	}
	s.nextZone++
	z := &zone{
		id:    fmt.Sprintf("Z%019X", 0x5EED0000+s.nextZone),
		name:  cn,
		sets:  map[setKey]*rrset{},
		types: map[string]map[string]bool{},
	}
	z.put(setKey{cn, "SOA"}, &rrset{ttl: 900, values: []string{
		"ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400",
	}})
	z.put(setKey{cn, "NS"}, &rrset{ttl: 172800, values: []string{
		"ns-1536.awsdns-00.co.uk.", "ns-0.awsdns-00.com.", "ns-1024.awsdns-00.org.", "ns-512.awsdns-00.net.",
	}})
	s.zones[z.id] = z
	s.byName[cn] = z
	return z
}

// Seed adds records given in presentation format with absolute names,
// creating the zone if needed. Records of one name and type join one record
// set; the last TTL given wins. A CNAME beside other data is rejected, as
// Route53 rejects it.
func (s *Server) Seed(zoneName string, rrs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.addZoneLocked(zoneName)
	for _, line := range rrs {
		rr, err := dns.NewRR(line)
		if err != nil {
			return fmt.Errorf("seed zone %s: record %q: %w", z.name, line, err)
		}
		if rr == nil {
			continue
		}
		h := rr.Header()
		name := canonicalName(h.Name)
		if !dns.IsSubDomain(z.name, name) {
			return fmt.Errorf("seed zone %s: record %q is outside the zone", z.name, line)
		}
		typ := dns.TypeToString[h.Rrtype]
		var value string
		if t, ok := rr.(*dns.TXT); ok {
			strs := make([]string, len(t.Txt))
			for i, s := range t.Txt {
				strs[i] = dnstext.Unescape(s)
			}
			value = renderTXT(strs)
		} else {
			value = strings.TrimPrefix(rr.String(), h.String())
		}
		k := setKey{name, typ}
		if conflict := z.cnameConflict(k, nil); conflict != "" {
			return fmt.Errorf("seed zone %s: record %q: %s", z.name, line, conflict)
		}
		set := z.sets[k]
		if set == nil {
			set = &rrset{}
			z.put(k, set)
		}
		set.ttl = int64(h.Ttl)
		if !containsValue(typ, set.values, value) {
			set.values = append(set.values, value)
		}
	}
	return nil
}

// Dump returns every record of the zone, apex SOA and NS included, as
// canonical miekg presentation lines, sorted.
func (s *Server) Dump(zoneName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.byName[canonicalName(zoneName)]
	if z == nil {
		return nil
	}
	var out []string
	for k, set := range z.sets {
		for _, v := range set.values {
			data := v
			if k.typ == "TXT" || k.typ == "SPF" {
				strs, err := parseTXT(v)
				if err == nil {
					data = dnstext.Present(strs)
				}
			}
			line := fmt.Sprintf("%s\t%d\tIN\t%s\t%s", k.name, set.ttl, k.typ, data)
			if rr, err := dns.NewRR(line); err == nil && rr != nil {
				line = rr.String()
			}
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return out
}

func containsValue(typ string, list []string, v string) bool {
	for _, x := range list {
		if valueKey(typ, x) == valueKey(typ, v) {
			return true
		}
	}
	return false
}

func keyLess(a, b setKey) bool {
	ka, kb := sortKey(a.name), sortKey(b.name)
	if ka != kb {
		return ka < kb
	}
	return a.typ < b.typ
}

// put stores set under k, keeping the paging order and type index.
func (z *zone) put(k setKey, set *rrset) {
	if _, ok := z.sets[k]; !ok {
		i := sort.Search(len(z.order), func(i int) bool { return !keyLess(z.order[i], k) })
		z.order = append(z.order, setKey{})
		copy(z.order[i+1:], z.order[i:])
		z.order[i] = k
		if z.types[k.name] == nil {
			z.types[k.name] = map[string]bool{}
		}
		z.types[k.name][k.typ] = true
	}
	z.sets[k] = set
}

func (z *zone) remove(k setKey) {
	if _, ok := z.sets[k]; !ok {
		return
	}
	delete(z.sets, k)
	i := sort.Search(len(z.order), func(i int) bool { return !keyLess(z.order[i], k) })
	if i < len(z.order) && z.order[i] == k {
		z.order = append(z.order[:i], z.order[i+1:]...)
	}
	delete(z.types[k.name], k.typ)
	if len(z.types[k.name]) == 0 {
		delete(z.types, k.name)
	}
}

// cnameConflict returns Route53's message when a set k would break CNAME
// exclusivity; pending overrides the stored sets (nil value: deleted).
func (z *zone) cnameConflict(k setKey, pending map[setKey]*rrset) string {
	present := func(typ string) bool {
		pk := setKey{k.name, typ}
		if set, ok := pending[pk]; ok {
			return set != nil
		}
		return z.types[k.name][typ]
	}
	others := map[string]bool{}
	for typ := range z.types[k.name] {
		others[typ] = true
	}
	for pk := range pending {
		if pk.name == k.name {
			others[pk.typ] = true
		}
	}
	if k.typ == "CNAME" {
		for typ := range others {
			if typ != "CNAME" && present(typ) {
				return fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name in zone %s", wireName(k.name), wireName(z.name))
			}
		}
		return ""
	}
	if present("CNAME") {
		return fmt.Sprintf("RRSet of type %s with DNS name %s is not permitted because a conflicting RRSet of type  CNAME with the same DNS name already exists in zone %s", k.typ, wireName(k.name), wireName(z.name))
	}
	return ""
}

// classify names a request's kind for the counters.
func classify(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/rrset") || strings.HasSuffix(p, "/rrset/"):
		if r.Method == http.MethodGet {
			return "read"
		}
		return "write"
	case strings.Contains(p, "/hostedzonesbyname"), strings.Contains(p, "/hostedzone"):
		return "zone"
	case strings.Contains(p, "/change/"):
		return "change"
	}
	return "other"
}

func (s *Server) requestID() string {
	return fmt.Sprintf("f4ke0000-0000-4000-8000-%012d", s.nextReq.Add(1))
}

// throttled is Route53's rate-limit answer: 400 with code Throttling, which
// the SDK retries.
func (s *Server) throttled(w http.ResponseWriter) {
	s.writeError(w, http.StatusBadRequest, "Throttling", "Rate exceeded")
}

func (s *Server) writeError(w http.ResponseWriter, status int, code, msg string) {
	var e errorResponse
	e.Xmlns = xmlns
	e.Error.Type = "Sender"
	e.Error.Code = code
	e.Error.Message = msg
	e.RequestID = s.requestID()
	w.Header().Set("x-amzn-RequestId", e.RequestID)
	writeXML(w, status, e)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(body)
}

// authorized checks the SigV4 Authorization header's access key id.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		s.writeError(w, http.StatusForbidden, "MissingAuthenticationToken", "Missing Authentication Token")
		return false
	}
	_, cred, ok := strings.Cut(auth, "Credential=")
	key, _, _ := strings.Cut(cred, "/")
	if !ok || !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || key != s.accessKey {
		s.writeError(w, http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return false
	}
	return true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	const base = "/2013-04-01/"
	if !strings.HasPrefix(p, base) {
		s.writeError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.Path)
		return
	}
	parts := strings.Split(strings.TrimPrefix(p, base), "/")
	switch {
	case len(parts) == 1 && parts[0] == "hostedzonesbyname" && r.Method == http.MethodGet:
		s.listZonesByName(w, r)
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && r.Method == http.MethodGet:
		s.listRRSets(w, r, parts[1])
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && r.Method == http.MethodPost:
		s.changeRRSets(w, r, parts[1])
	case len(parts) == 2 && parts[0] == "change" && r.Method == http.MethodGet:
		s.getChange(w, parts[1])
	default:
		s.writeError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.Path)
	}
}

func (s *Server) listZonesByName(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	dnsName := q.Get("dnsname")
	if dnsName == "" && q.Get("hostedzoneid") != "" {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "Invalid request: the hosted zone id is given without a DNS name")
		return
	}
	maxItems, ok := parseMaxItems(q.Get("maxitems"), zonePageDefault)
	if !ok {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "1 validation error detected: Value '"+q.Get("maxitems")+"' at 'maxItems' failed to satisfy constraint")
		return
	}
	s.mu.Lock()
	all := make([]*zone, 0, len(s.zones))
	for _, z := range s.zones {
		all = append(all, z)
	}
	sort.Slice(all, func(i, j int) bool {
		ki, kj := sortKey(all[i].name), sortKey(all[j].name)
		if ki != kj {
			return ki < kj
		}
		return all[i].id < all[j].id
	})
	start := 0
	if dnsName != "" {
		from := sortKey(canonicalName(dnsName))
		start = sort.Search(len(all), func(i int) bool { return sortKey(all[i].name) >= from })
	}
	resp := listZonesByNameResponse{Xmlns: xmlns, DNSName: dnsName, MaxItems: maxItems}
	for i := start; i < len(all); i++ {
		z := all[i]
		if len(resp.HostedZones) == maxItems {
			resp.IsTruncated = true
			resp.NextDNSName = wireName(z.name)
			resp.NextHostedZoneID = z.id
			break
		}
		wz := wireZone{ID: "/hostedzone/" + z.id, Name: wireName(z.name), CallerReference: "mtasts-sync-fake-" + z.id, ResourceRecordSetCount: len(z.sets)}
		resp.HostedZones = append(resp.HostedZones, wz)
	}
	s.mu.Unlock()
	writeXML(w, http.StatusOK, resp)
}

func wireRecords(values []string) []wireRecord {
	out := make([]wireRecord, len(values))
	for i, v := range values {
		out[i].Value = v
	}
	return out
}

func parseMaxItems(v string, def int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

func (s *Server) listRRSets(w http.ResponseWriter, r *http.Request, id string) {
	q := r.URL.Query()
	maxItems, ok := parseMaxItems(q.Get("maxitems"), pageCap)
	if !ok {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "1 validation error detected: Value '"+q.Get("maxitems")+"' at 'maxItems' failed to satisfy constraint")
		return
	}
	pageSize := min(maxItems, pageCap)
	startName, startType := q.Get("name"), q.Get("type")
	if startType != "" && startName == "" {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "The input is not valid: type is given without name")
		return
	}
	s.mu.Lock()
	z := s.zones[id]
	if z == nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+id)
		return
	}
	start := 0
	if startName != "" {
		from := setKey{canonicalName(startName), startType}
		start = sort.Search(len(z.order), func(i int) bool { return !keyLess(z.order[i], from) })
	}
	resp := listRRSetsResponse{Xmlns: xmlns, MaxItems: maxItems}
	for i := start; i < len(z.order); i++ {
		k := z.order[i]
		if len(resp.Sets) == pageSize {
			resp.IsTruncated = true
			resp.NextRecordName = wireName(k.name)
			resp.NextRecordType = k.typ
			break
		}
		set := z.sets[k]
		ttl := set.ttl
		resp.Sets = append(resp.Sets, wireSet{
			Name:    wireName(k.name),
			Type:    k.typ,
			TTL:     &ttl,
			Records: wireRecords(set.values),
		})
	}
	s.mu.Unlock()
	writeXML(w, http.StatusOK, resp)
}

func (s *Server) getChange(w http.ResponseWriter, id string) {
	id = strings.TrimPrefix(id, "/change/")
	s.mu.Lock()
	at, ok := s.changes[id]
	s.mu.Unlock()
	if !ok {
		s.writeError(w, http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist.")
		return
	}
	writeXML(w, http.StatusOK, getChangeResponse{Xmlns: xmlns, ChangeInfo: changeInfo{
		ID: "/change/" + id, Status: "INSYNC", SubmittedAt: at,
	}})
}

// changeRRSets applies a change batch atomically: every change is checked
// against the zone as the earlier changes of the batch left it, and nothing
// is stored unless all of them are valid.
func (s *Server) changeRRSets(w http.ResponseWriter, r *http.Request, id string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "Could not read the request body")
		return
	}
	var req changeRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "Invalid XML ; "+err.Error())
		return
	}
	if len(req.ChangeBatch.Changes) == 0 {
		s.writeError(w, http.StatusBadRequest, "InvalidInput", "1 validation error detected: Value null at 'changeBatch.changes' failed to satisfy constraint: Member must not be null")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[id]
	if z == nil {
		s.writeError(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+id)
		return
	}
	pending := map[setKey]*rrset{}
	lookup := func(k setKey) *rrset {
		if set, ok := pending[k]; ok {
			return set
		}
		return z.sets[k]
	}
	var problems []string
	for _, c := range req.ChangeBatch.Changes {
		k, set, inputErr := z.validateChange(c)
		if inputErr != "" {
			s.writeError(w, http.StatusBadRequest, "InvalidInput", inputErr)
			return
		}
		if !dns.IsSubDomain(z.name, k.name) {
			problems = append(problems, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", wireName(k.name), wireName(z.name)))
			continue
		}
		if msg := valueProblems(k, set); msg != "" {
			problems = append(problems, msg)
			continue
		}
		desc := fmt.Sprintf("[name='%s', type='%s']", wireName(k.name), k.typ)
		cur := lookup(k)
		switch c.Action {
		case "CREATE":
			if cur != nil {
				problems = append(problems, "Tried to create resource record set "+desc+" but it already exists")
				continue
			}
		case "DELETE":
			switch {
			case cur == nil:
				problems = append(problems, "Tried to delete resource record set "+desc+" but it was not found")
				continue
			case cur.ttl != set.ttl || !sameValues(k.typ, cur.values, set.values):
				problems = append(problems, "Tried to delete resource record set "+desc+" but the values provided do not match the current values")
				continue
			case k.name == z.name && k.typ == "SOA":
				problems = append(problems, "A HostedZone must contain exactly one SOA record.")
				continue
			case k.name == z.name && k.typ == "NS":
				problems = append(problems, "A HostedZone must contain at least one NS record for the zone itself.")
				continue
			}
			pending[k] = nil
			continue
		}
		if k.typ == "CNAME" && k.name == z.name {
			problems = append(problems, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted at apex in zone %s", wireName(k.name), wireName(z.name)))
			continue
		}
		if msg := z.cnameConflict(k, pending); msg != "" {
			problems = append(problems, msg)
			continue
		}
		pending[k] = set
	}
	if len(problems) > 0 {
		s.writeError(w, http.StatusBadRequest, "InvalidChangeBatch", "["+strings.Join(problems, ", ")+"]")
		return
	}
	for k, set := range pending {
		if set == nil {
			z.remove(k)
		} else {
			z.put(k, set)
		}
	}
	s.nextChange++
	cid := fmt.Sprintf("C%019X", 0xC4A46E0000+s.nextChange)
	at := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	s.changes[cid] = at
	writeXML(w, http.StatusOK, changeResponse{Xmlns: xmlns, ChangeInfo: changeInfo{
		ID: "/change/" + cid, Status: "INSYNC", SubmittedAt: at, Comment: req.ChangeBatch.Comment,
	}})
}

// validateChange turns one change into a key and a record set. A non-empty
// string is an InvalidInput message: the request as a whole is malformed.
func (z *zone) validateChange(c wireChange) (setKey, *rrset, string) {
	k := setKey{canonicalName(c.Set.Name), c.Set.Type}
	switch c.Action {
	case "CREATE", "UPSERT", "DELETE":
	default:
		return k, nil, fmt.Sprintf("Invalid XML ; Value '%s' is not a valid Action (CREATE, DELETE, UPSERT)", c.Action)
	}
	if c.Set.Name == "" {
		return k, nil, "Invalid request: Expected a Name in Change with [Action=" + c.Action + "]"
	}
	if !supportedTypes[c.Set.Type] {
		return k, nil, fmt.Sprintf("Invalid XML ; Value '%s' is not a valid RRType", c.Set.Type)
	}
	if c.Set.AliasTarget != nil || c.Set.TTL == nil || len(c.Set.Records) == 0 {
		return k, nil, fmt.Sprintf("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]], but found none in Change with [Action=%s, Name=%s, Type=%s, SetIdentifier=null]", c.Action, c.Set.Name, c.Set.Type)
	}
	if *c.Set.TTL < 0 || *c.Set.TTL > 2147483647 {
		return k, nil, fmt.Sprintf("Invalid request: TTL %d is out of range [0, 2147483647]", *c.Set.TTL)
	}
	set := &rrset{ttl: *c.Set.TTL}
	for _, rec := range c.Set.Records {
		set.values = append(set.values, strings.TrimSpace(rec.Value))
	}
	return k, set, ""
}

// valueProblems checks each value the way Route53 does and rewrites TXT
// values to their canonical form; it returns Route53's message or "".
func valueProblems(k setKey, set *rrset) string {
	if k.typ == "CNAME" && len(set.values) > 1 {
		return fmt.Sprintf("RRSet of type CNAME with DNS name %s has more than one ResourceRecord", wireName(k.name))
	}
	seen := make(map[string]bool, len(set.values))
	for i, v := range set.values {
		if k.typ == "TXT" || k.typ == "SPF" {
			strs, err := parseTXT(v)
			if err != nil {
				return fmt.Sprintf("Invalid Resource Record: FATAL problem: %sRDATAInvalid (%v) encountered with '%s'", k.typ, err, v)
			}
			for _, s := range strs {
				if len(s) > 255 {
					return fmt.Sprintf("Invalid Resource Record: FATAL problem: %sRDATATooLong encountered with '%s'", k.typ, v)
				}
			}
			set.values[i] = renderTXT(strs)
		} else if rr, err := dns.NewRR(fmt.Sprintf("%s 0 IN %s %s", k.name, k.typ, v)); err != nil || rr == nil {
			return fmt.Sprintf("Invalid Resource Record: FATAL problem: %sRDATAInvalid (Value is not valid for a %s record) encountered with '%s'", k.typ, k.typ, v)
		}
		norm := valueKey(k.typ, set.values[i])
		if seen[norm] {
			return fmt.Sprintf("Duplicate Resource Record: '%s'", set.values[i])
		}
		seen[norm] = true
	}
	return ""
}

// valueKey is what two values of type typ are compared by: TXT exactly,
// everything else (names) case-insensitively.
func valueKey(typ, v string) string {
	if typ == "TXT" || typ == "SPF" {
		return v
	}
	return strings.ToLower(v)
}

func sameValues(typ string, a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := make(map[string]int, len(a))
	for _, v := range a {
		count[valueKey(typ, v)]++
	}
	for _, v := range b {
		v = valueKey(typ, v)
		if count[v] == 0 {
			return false
		}
		count[v]--
	}
	return true
}
