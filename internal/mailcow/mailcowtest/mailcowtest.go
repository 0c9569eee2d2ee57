// Package mailcowtest runs a fake mailcow on an httptest TLS server on
// loopback, for tests of code that talks to mailcow. It speaks the JSON of
// mailcow-dockerized's json_api.php for the routes mtasts-sync uses (domain
// and alias-domain lists, MTA-STS add and edit) and serves
// /.well-known/mta-sts.txt per Host header as data/web/mta-sts.php does.
package mailcowtest

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
)

// Domain is a mailcow domain as the fake stores it. Name is sent verbatim as
// domain_name (mailcow stores A-labels).
type Domain struct {
	Name     string
	Active   bool
	BackupMX bool
	Tags     []string
}

// AliasDomain is a mailcow alias domain as the fake stores it.
type AliasDomain struct {
	Name, Target string
	Active       bool
}

// Call is one MTA-STS add or edit request the fake received.
type Call struct {
	Path string // /api/v1/add/mta-sts or /api/v1/edit/mta-sts
	Body string // the JSON body as sent
}

// entry is a stored mta_sts row, in mailcow's column forms.
type entry struct {
	version, mode string
	mx            []string
	maxAge        int64
	active        bool
}

type failure struct {
	status      int
	body, ctype string
}

// Server is a fake mailcow. Its methods are safe for concurrent use.
type Server struct {
	srv    *httptest.Server
	apiKey string
	done   chan struct{}
	close  sync.Once

	mu            sync.Mutex
	domains       map[string]Domain
	aliases       map[string]AliasDomain
	sts           map[string]entry
	calls         []Call
	emptyForm     string
	flagsAsString bool
	singleObject  bool
	fail          *failure
	delay         time.Duration
}

// New starts a fake mailcow that accepts apiKey as X-API-Key.
func New(apiKey string) *Server {
	s := &Server{
		apiKey:    apiKey,
		done:      make(chan struct{}),
		domains:   map[string]Domain{},
		aliases:   map[string]AliasDomain{},
		sts:       map[string]entry{},
		emptyForm: "{}", // what json_api.php prints for an empty domain list
	}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL to give mailcow.Options.URL.
func (s *Server) URL() string { return s.srv.URL }

// PolicyHost is the host:port to give ServedPolicy as the policy host.
func (s *Server) PolicyHost() string { return strings.TrimPrefix(s.srv.URL, "https://") }

// CertPEM is the fake's certificate in PEM, for a ca_file.
func (s *Server) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Client is an *http.Client that trusts the fake's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close stops the server, releasing any request held by SetDelay.
func (s *Server) Close() {
	s.close.Do(func() { close(s.done) })
	s.srv.Close()
}

// AddDomain adds or replaces a domain.
func (s *Server) AddDomain(d Domain) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.domains[d.Name] = d
}

// AddAliasDomain adds or replaces an alias domain.
func (s *Server) AddAliasDomain(a AliasDomain) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aliases[a.Name] = a
}

// SetEmptyForm sets what an empty list answers: "{}" (mailcow's default for
// domains) or "[]".
func (s *Server) SetEmptyForm(form string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emptyForm = form
}

// SetFlagsAsStrings makes flags "1"/"0" (true) or 1/0 (false, the default).
func (s *Server) SetFlagsAsStrings(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flagsAsString = on
}

// SetSingleObject makes a one-item list answer as a bare object, as
// mailcow's per-item routes do.
func (s *Server) SetSingleObject(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.singleObject = on
}

// Fail makes every API request (not the policy endpoint) answer status with
// body and contentType. A status of 0 clears it.
func (s *Server) Fail(status int, body, contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		s.fail = nil
		return
	}
	s.fail = &failure{status: status, body: body, ctype: contentType}
}

// SetDelay holds every request for d before answering, or until the client
// gives up or the server closes.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetSTS stores an MTA-STS entry directly, as if added through the UI.
func (s *Server) SetSTS(e mailcow.STS) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sts[e.Domain] = entry{version: "stsv1", mode: e.Mode, mx: append([]string(nil), e.MX...), maxAge: e.MaxAge, active: e.Active}
}

// RemoveSTS deletes a domain's MTA-STS entry, as an admin might in the UI.
func (s *Server) RemoveSTS(domain string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sts, domain)
}

// STS returns the stored MTA-STS entries by domain.
func (s *Server) STS() map[string]mailcow.STS {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]mailcow.STS, len(s.sts))
	for d, e := range s.sts {
		out[d] = mailcow.STS{Domain: d, Mode: e.mode, MX: append([]string(nil), e.mx...), MaxAge: e.maxAge, Active: e.active}
	}
	return out
}

// Calls returns the MTA-STS add and edit requests received, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delay, fail := s.delay, s.fail
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-s.done:
			t.Stop()
			return
		}
	}
	if r.URL.Path == "/.well-known/mta-sts.txt" {
		s.servePolicy(w, r)
		return
	}
	if fail != nil {
		if fail.ctype != "" {
			w.Header().Set("Content-Type", fail.ctype)
		}
		w.WriteHeader(fail.status)
		io.WriteString(w, fail.body)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("X-API-Key") != s.apiKey {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"type": "error", "msg": "authentication failed"})
		return
	}
	switch r.URL.Path {
	case "/api/v1/get/domain/all":
		if !s.method(w, r, http.MethodGet) {
			return
		}
		s.serveDomains(w, r)
	case "/api/v1/get/alias-domain/all":
		if !s.method(w, r, http.MethodGet) {
			return
		}
		s.serveAliases(w)
	case "/api/v1/add/mta-sts":
		if !s.method(w, r, http.MethodPost) {
			return
		}
		s.addSTS(w, r)
	case "/api/v1/edit/mta-sts":
		if !s.method(w, r, http.MethodPost) {
			return
		}
		s.editSTS(w, r)
	default:
		w.WriteHeader(http.StatusNotFound)
		writeJSON(w, map[string]string{"type": "error", "msg": "route not found"})
	}
}

// method answers 405 as json_api.php does for the wrong method.
func (s *Server) method(w http.ResponseWriter, r *http.Request, want string) bool {
	if r.Method == want {
		return true
	}
	w.WriteHeader(http.StatusMethodNotAllowed)
	writeJSON(w, map[string]string{"type": "error", "msg": "only " + want + " method is allowed"})
	return false
}

func (s *Server) flag(on bool) any {
	switch {
	case s.flagsAsString && on:
		return "1"
	case s.flagsAsString:
		return "0"
	case on:
		return 1
	}
	return 0
}

// list writes items the way process_get_return and the "all" routes do.
func (s *Server) list(w http.ResponseWriter, items []map[string]any) {
	switch {
	case len(items) == 0:
		io.WriteString(w, s.emptyForm)
	case len(items) == 1 && s.singleObject:
		writeJSON(w, items[0])
	default:
		writeJSON(w, items)
	}
}

func (s *Server) serveDomains(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var tags []string
	if t := r.URL.Query().Get("tags"); t != "" {
		tags = strings.Split(t, ",")
	}
	names := make([]string, 0, len(s.domains))
	for n := range s.domains {
		names = append(names, n)
	}
	sort.Strings(names)
	var items []map[string]any
	for _, n := range names {
		d := s.domains[n]
		if tags != nil && !matchesTags(d.Tags, tags) {
			continue
		}
		item := map[string]any{
			"domain_name":          d.Name,
			"domain_h_name":        d.Name,
			"description":          "",
			"active":               s.flag(d.Active),
			"active_int":           s.flag(d.Active),
			"backupmx":             s.flag(d.BackupMX),
			"backupmx_int":         s.flag(d.BackupMX),
			"relay_all_recipients": s.flag(false),
			"gal":                  s.flag(true),
			"created":              "2025-09-01 12:00:00",
		}
		if len(d.Tags) > 0 { // mailcow sets "tags" only when there are some
			item["tags"] = d.Tags
		}
		items = append(items, item)
	}
	s.list(w, items)
}

// matchesTags is mailcow's tag filter: a UNION of
// "tag_name LIKE '%tag%'" queries, case-insensitive under MySQL's collation.
func matchesTags(have, want []string) bool {
	for _, h := range have {
		for _, t := range want {
			if strings.Contains(strings.ToLower(h), strings.ToLower(t)) {
				return true
			}
		}
	}
	return false
}

func (s *Server) serveAliases(w http.ResponseWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.aliases))
	for n := range s.aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	var items []map[string]any
	for _, n := range names {
		a := s.aliases[n]
		parentBackup := false
		if d, ok := s.domains[a.Target]; ok {
			parentBackup = d.BackupMX
		}
		items = append(items, map[string]any{
			"alias_domain":       a.Name,
			"target_domain":      a.Target,
			"active":             s.flag(a.Active),
			"active_int":         s.flag(a.Active),
			"parent_is_backupmx": s.flag(parentBackup),
			"created":            "2025-09-01 12:00:00",
		})
	}
	s.list(w, items)
}

// stsAttr is the attribute set of mailcow's mta_sts add and edit cases.
type stsAttr struct {
	Domain  string          `json:"domain"`
	Version *string         `json:"version"`
	Mode    *string         `json:"mode"`
	MX      *string         `json:"mx"`
	MaxAge  json.RawMessage `json:"max_age"`
	Active  json.RawMessage `json:"active"`
}

var (
	validMX    = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]+$`)
	whitespace = regexp.MustCompile(`\s+`)
	portSuffix = regexp.MustCompile(`:[0-9]+$`)
)

// danger is one failed item in mailcow's return list.
func danger(msg ...string) []map[string]any {
	var m any = msg[0]
	if len(msg) > 1 {
		m = msg
	}
	return []map[string]any{{"type": "danger", "log": []string{"mailbox", "mta_sts"}, "msg": m}}
}

// check validates like functions.mailbox.inc.php; maxAgeCap differs between
// its add (31536000) and edit (31557600) cases.
func check(version, mode string, mx []string, maxAge int64, maxAgeCap int64, domain string) []map[string]any {
	if version != "stsv1" {
		return danger("version_invalid", domain)
	}
	if mode != "enforce" && mode != "testing" && mode != "none" {
		return danger("mode_invalid", domain)
	}
	if maxAge <= 0 || maxAge > maxAgeCap {
		return danger("max_age_invalid", domain)
	}
	for _, m := range mx {
		if !validMX.MatchString(strings.ToLower(m)) {
			return danger("mx_invalid", m)
		}
	}
	return nil
}

// intval mimics PHP's intval on a JSON value.
func intval(raw json.RawMessage) int64 {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return 0
	}
	switch t := v.(type) {
	case float64:
		return int64(t)
	case string:
		n, _ := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		return n
	case bool:
		if t {
			return 1
		}
	}
	return 0
}

func splitMX(v string) []string {
	return strings.Split(whitespace.ReplaceAllString(v, ""), ",")
}

func (s *Server) record(r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Path: r.URL.Path, Body: string(body)})
	s.mu.Unlock()
	return body, true
}

func (s *Server) addSTS(w http.ResponseWriter, r *http.Request) {
	body, ok := s.record(r)
	var a stsAttr
	if !ok || json.Unmarshal(body, &a) != nil {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"type": "error", "msg": "Request body doesn't contain valid json!"})
		return
	}
	domain := strings.ToLower(strings.TrimSpace(a.Domain))
	e := entry{version: strings.ToLower(deref(a.Version)), mode: strings.ToLower(deref(a.Mode)), mx: splitMX(deref(a.MX)), maxAge: intval(a.MaxAge), active: intval(a.Active) == 1}
	if ret := check(e.version, e.mode, e.mx, e.maxAge, 31536000, domain); ret != nil {
		writeJSON(w, ret)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.sts[domain]; exists {
		writeJSON(w, danger(fmt.Sprintf("SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry '%s' for key 'PRIMARY'", domain)))
		return
	}
	s.sts[domain] = e
	// The add case sets no message on success, so the generic one is sent.
	writeJSON(w, map[string]string{"type": "success", "msg": "Task completed"})
}

func (s *Server) editSTS(w http.ResponseWriter, r *http.Request) {
	body, ok := s.record(r)
	var req struct {
		Items json.RawMessage `json:"items"`
		Attr  stsAttr         `json:"attr"`
	}
	if !ok || json.Unmarshal(body, &req) != nil {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"type": "error", "msg": "Request body doesn't contain valid json!"})
		return
	}
	var items []string
	if json.Unmarshal(req.Items, &items) != nil {
		var one string
		if json.Unmarshal(req.Items, &one) != nil {
			writeJSON(w, map[string]string{"type": "error", "msg": "Cannot find attributes in post data"})
			return
		}
		items = []string{one}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ret []map[string]any
	for _, item := range items {
		domain := strings.ToLower(strings.TrimSpace(item))
		now, exists := s.sts[domain]
		if !exists {
			ret = append(ret, danger("access_denied")...)
			continue
		}
		e := now
		if req.Attr.Version != nil {
			e.version = strings.ToLower(*req.Attr.Version)
		}
		if req.Attr.Mode != nil {
			e.mode = strings.ToLower(*req.Attr.Mode)
		}
		if req.Attr.MX != nil {
			e.mx = splitMX(*req.Attr.MX)
		}
		if req.Attr.MaxAge != nil {
			e.maxAge = intval(req.Attr.MaxAge)
		}
		if req.Attr.Active != nil {
			e.active = intval(req.Attr.Active) == 1
		}
		if bad := check(e.version, e.mode, e.mx, e.maxAge, 31557600, domain); bad != nil {
			ret = append(ret, bad...)
			continue
		}
		s.sts[domain] = e
		ret = append(ret, map[string]any{"type": "success", "log": []string{"mailbox", "edit", "mta_sts"}, "msg": []string{"object_modified", domain}})
	}
	writeJSON(w, ret)
}

// servePolicy is data/web/mta-sts.php: the domain comes from the Host
// header, an alias domain (active or not) resolves to its target, and a
// missing or inactive entry is a 404.
func (s *Server) servePolicy(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if !strings.HasPrefix(host, "mta-sts.") {
		http.NotFound(w, r)
		return
	}
	host = portSuffix.ReplaceAllString(host, "")
	domain := strings.TrimPrefix(host, "mta-sts.")
	s.mu.Lock()
	if a, ok := s.aliases[domain]; ok && a.Target != "" {
		domain = a.Target
	}
	e, ok := s.sts[domain]
	s.mu.Unlock()
	if !ok || !e.active || e.mode == "" || len(e.mx) == 0 {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// mailcow stores "stsv1" and prints it as "STSv1", with LF line ends.
	fmt.Fprintf(w, "version: STSv1\nmode: %s\nmax_age: %d\n", e.mode, e.maxAge)
	for _, m := range e.mx {
		fmt.Fprintf(w, "mx: %s\n", m)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(b)
}
