package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

const (
	minTTL       = 1
	maxTTL       = 604800
	lowTTL       = 300
	oneDay       = 86400
	oneWeek      = 604800
	maxProviders = 1000
	// mailcowMaxMaxAge is the largest max_age mailcow's MTA-STS settings
	// take (365 days, below RFC 8461's one year of 31557600).
	mailcowMaxMaxAge = 31536000
)

// config fills cfg from the top-level mapping; cross-key rules run after
// every section is read so that each is checked against the final values.
func (p *parser) config(root *yaml.Node, cfg *Config) {
	cfg.Layout = LayoutDirect
	cfg.TTL = DefaultTTL
	cfg.PublishGate = true
	top := p.known(p.entries(root, ""), "", topKeys...)
	_, hasMailcow := top["mailcow"]
	if f, ok := top["mailcow"]; ok {
		cfg.Mailcow = p.mailcow(f)
	}
	if f, ok := top["policy_host"]; ok {
		cfg.PolicyHost = p.domain(f.val, f.path, "policy_host")
	}
	if _, ok := top["policy_host"]; !ok && !hasMailcow {
		p.errorf(root, "", "policy_host is required unless mailcow: is set; add policy_host: <the host every mta-sts.<domain> CNAME points to, e.g. mail.example.com>")
	}
	if f, ok := top["policy"]; ok {
		p.policy(f, cfg)
	} else if !hasMailcow {
		p.errorf(root, "", "policy is required; add policy: with mode: and max_age:")
	}
	if f, ok := top["tlsrpt"]; ok {
		cfg.TLSRPT = p.tlsrpt(f)
	}
	if f, ok := top["layout"]; ok {
		if v, ok := p.str(f); ok {
			switch l := Layout(v); l {
			case LayoutDirect, LayoutDelegated:
				cfg.Layout = l
			default:
				p.errorf(f.val, f.path, "%v is not a layout; use direct or delegated", p.show(f.val))
			}
		}
	}
	if f, ok := top["primary"]; ok {
		cfg.Primary = p.domain(f.val, f.path, "primary")
	}
	if f, ok := top["ttl"]; ok {
		if v, ok := p.integer(f, "a whole number of seconds"); ok {
			switch {
			case v < minTTL || v > maxTTL:
				p.errorf(f.val, f.path, "%v is out of range; use %d to %d seconds (3600 is usual)", p.show(f.val), minTTL, maxTTL)
			case v < lowTTL:
				p.warnf(f.val, f.path, "%v seconds is very short; below %d many providers round up and resolvers ask far more often", p.show(f.val), lowTTL)
			}
			if v >= minTTL && v <= maxTTL {
				cfg.TTL = time.Duration(v) * time.Second
			}
		}
	}
	if f, ok := top["publish_gate"]; ok {
		if v, ok := p.boolean(f); ok {
			cfg.PublishGate = v
		}
	}
	domainNodes := map[string]*yaml.Node{}
	if f, ok := top["domains"]; ok {
		cfg.Domains = p.domains(f, domainNodes)
	}
	retireNodes := map[string]*yaml.Node{}
	if f, ok := top["retire"]; ok {
		cfg.Retire = p.retire(f, retireNodes)
	}
	if f, ok := top["ignore"]; ok {
		cfg.Ignore = p.ignore(f)
	}
	cfg.Providers = map[string]Provider{}
	if f, ok := top["providers"]; ok {
		p.providers(f, cfg)
	}
	if f, ok := top["provider"]; ok {
		if v, ok := p.str(f); ok {
			cfg.Provider = v
			p.providerExists(f.val, f.path, v, cfg)
		}
	}
	cfg.Zones = map[string]string{}
	if f, ok := top["zones"]; ok {
		p.zones(f, cfg)
	}
	if f, ok := top["dane"]; ok {
		cfg.DANE = p.daneSection(f, cfg)
	}
	p.crossCheck(root, top, cfg, domainNodes)
	p.retireCheck(top, cfg, domainNodes, retireNodes)
}

// domain normalises the domain name held by n; it returns "" after reporting
// a problem.
func (p *parser) domain(n *yaml.Node, path, what string) string {
	if isNull(n) || n.Kind != yaml.ScalarNode {
		p.errorf(n, path, "must be a domain name, got %s", p.describe(n))
		return ""
	}
	d, err := dnsname.Normalize(n.Value)
	if err != nil {
		p.errorf(n, path, "%s; fix the %s", p.cause(n, err, "a valid domain name"), what)
		return ""
	}
	return d
}

func (p *parser) policy(f field, cfg *Config) {
	fs, ok := p.section(f, policyKeys...)
	if !ok {
		return
	}
	pol := &cfg.Policy
	bad := len(p.problems)
	if m, ok := fs["mode"]; !ok || isNull(m.val) {
		p.errorf(f.key, f.path, "mode is required; add mode: enforce, testing or none")
	} else if v, ok := p.str(m); ok {
		if mode := mtasts.Mode(v); mode.Valid() {
			pol.Mode = mode
		} else {
			p.errorf(m.val, m.path, "%v is not a mode; use enforce, testing or none (lower case)", p.show(m.val))
		}
	}
	maxAgeNode := f.key
	if m, ok := fs["max_age"]; !ok || isNull(m.val) {
		p.errorf(f.key, f.path, "max_age is required; add max_age: <seconds>, e.g. 604800 (one week)")
	} else if v, ok := p.integer(m, "a whole number of seconds"); ok {
		maxAgeNode = m.val
		switch {
		case v < 1 || v > mtasts.MaxMaxAge:
			p.errorf(m.val, m.path, "%v is out of range; use 1 to %d seconds (one year)", p.show(m.val), mtasts.MaxMaxAge)
		case v > mailcowMaxMaxAge && cfg.Mailcow != nil && cfg.Mailcow.ManagePolicy:
			p.errorf(m.val, m.path, "%v is more than mailcow accepts with manage_policy (%d, 365 days); use at most %d", p.show(m.val), mailcowMaxMaxAge, mailcowMaxMaxAge)
		default:
			pol.MaxAge = v
		}
	}
	if m, ok := fs["mx"]; ok {
		pol.MX = p.mxPatterns(m, pol.Mode)
	} else if cfg.PolicyHost != "" {
		pol.MX = []string{cfg.PolicyHost}
	}
	if m, ok := fs["file"]; ok {
		if v, ok := p.str(m); ok && v != "" {
			pol.File = p.abs(v)
		} else if ok {
			p.errorf(m.val, m.path, "is empty; give a path or remove the key")
		}
	}
	if m, ok := fs["dir"]; ok {
		if v, ok := p.str(m); ok && v != "" {
			pol.Dir = p.abs(v)
			if pol.File != "" {
				p.errorf(m.key, f.path, "file and dir exclude each other: dir holds one policy file per domain (mta-sts.<domain>/.well-known/mta-sts.txt), file one for every domain; keep one")
			}
		} else if ok {
			p.errorf(m.val, m.path, "is empty; give a directory or remove the key")
		}
	}
	if pol.MaxAge > 0 && pol.MaxAge < oneDay {
		p.warnf(maxAgeNode, f.path+".max_age", "%v seconds is less than a day; senders re-fetch the policy often and a short max_age protects little (weeks are usual)", p.show(maxAgeNode))
	}
	if pol.Mode == mtasts.ModeEnforce && pol.MaxAge > 0 && pol.MaxAge < oneWeek {
		p.warnf(maxAgeNode, f.path+".max_age", "mode enforce with max_age %v, less than a week (%d); RFC 8461 suggests weeks so that the policy outlives an attack", p.show(maxAgeNode), oneWeek)
	}
	// The mtasts package has the last word on what can be published; with
	// no problems so far this only catches a disagreement between the two.
	if len(p.problems) == bad && (len(pol.MX) > 0 || pol.Mode == mtasts.ModeNone) {
		if err := cfg.Policy.MTASTS().Validate(); err != nil {
			p.errorf(f.key, f.path, "%v", err)
		}
	}
}

// section reads a mapping with a fixed set of keys; ok is false when it is not
// a mapping at all, so that no follow-up "missing key" problems pile up.
func (p *parser) section(f field, valid ...string) (map[string]field, bool) {
	if f.val.Kind != yaml.MappingNode {
		p.entries(f.val, f.path)
		return nil, false
	}
	return p.known(p.entries(f.val, f.path), f.path, valid...), true
}

func (p *parser) mxPatterns(f field, mode mtasts.Mode) []string {
	items, ok := p.list(f, "[mail.example.com, \"*.example.net\"]")
	if mode != mtasts.ModeNone && (isNull(f.val) || (ok && len(f.val.Content) == 0)) {
		p.errorf(f.val, f.path, "is empty; list the MX host names, or remove mx to use policy_host")
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		mx := strings.ToLower(it.val)
		// A U-label host is what the user sees in the MX record's zone; the
		// policy must carry the A-label.
		if !isASCII(mx) {
			name, wildcard := strings.CutPrefix(mx, "*.")
			a, err := dnsname.Normalize(name)
			if err != nil {
				p.errorf(it.node, it.path, "%s; fix the mx pattern", p.cause(it.node, err, "a valid host name"))
				continue
			}
			mx = a
			if wildcard {
				mx = "*." + a
			}
		}
		if err := mtasts.ValidateMXPattern(mx); err != nil {
			p.errorf(it.node, it.path, "%s", p.cause(it.node, err, "a valid mx pattern (mail.example.com or *.example.com)"))
			continue
		}
		out = append(out, mx)
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (p *parser) tlsrpt(f field) *TLSRPT {
	fs, ok := p.section(f, tlsrptKeys...)
	if !ok {
		return nil
	}
	r, ok := fs["rua"]
	if !ok {
		if f.val.Kind == yaml.MappingNode {
			p.errorf(f.key, f.path, "rua is required; add rua: [mailto:tls-reports@example.com], or remove tlsrpt to leave _smtp._tls alone")
		}
		return nil
	}
	items, ok := p.list(r, "[mailto:tls-reports@example.com]")
	if isNull(r.val) || (ok && len(r.val.Content) == 0) {
		p.errorf(r.val, r.path, "needs at least one report URI (mailto: or https:), e.g. [mailto:tls-reports@example.com]")
	}
	if len(items) == 0 {
		return nil
	}
	out := &TLSRPT{}
	for _, it := range items {
		if err := mtasts.ValidateRUA(it.val); err != nil {
			p.errorf(it.node, it.path, "%s", p.cause(it.node, err, "a report URI (mailto: or https:)"))
			continue
		}
		out.RUA = append(out.RUA, it.val)
	}
	return out
}

func (p *parser) domains(f field, nodes map[string]*yaml.Node) []string {
	items, ok := p.list(f, "[example.com, example.org]")
	if !ok {
		return nil
	}
	var out []string
	for _, it := range items {
		d := p.domain(it.node, it.path, "domain")
		if d == "" {
			continue
		}
		if first, dup := nodes[d]; dup {
			p.warnf(it.node, it.path, "%v is listed twice (first at line %d); remove one", p.showAs(it.node, d), first.Line)
			continue
		}
		nodes[d] = it.node
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func validProviderName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i, c := range []byte(name) {
		alnum := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		if !alnum && (i == 0 || (c != '-' && c != '_')) {
			return false
		}
	}
	return true
}

func (p *parser) providers(f field, cfg *Config) {
	for _, e := range p.entries(f.val, f.path) {
		name := e.key.Value
		if !validProviderName(name) {
			p.errorf(e.key, f.path, "provider name %q is not valid; use lower-case letters, digits, - and _, starting with a letter or digit (e.g. cf)", name)
			continue
		}
		if len(cfg.Providers) >= maxProviders {
			p.errorf(e.key, f.path, "more than %d providers; that is surely a mistake", maxProviders)
			return
		}
		cfg.Providers[name] = p.provider(name, e)
	}
}

func (p *parser) provider(name string, f field) Provider {
	prov := Provider{Name: name, Line: f.key.Line, Settings: map[string]string{}, Secrets: map[string]Secret{}}
	if f.val.Kind != yaml.MappingNode {
		p.entries(f.val, f.path)
		return prov
	}
	fs := p.entries(f.val, f.path)
	byKey := make(map[string]field, len(fs))
	for _, e := range fs {
		byKey[e.key.Value] = e
	}
	var keys []Key
	typeKnown := false
	if t, ok := byKey["type"]; !ok || isNull(t.val) {
		hint := "<provider type>"
		if len(p.opts.KnownTypes) > 0 {
			hint = "<" + strings.Join(p.opts.KnownTypes, " | ") + ">"
		}
		p.errorf(f.key, f.path, "type is required; add type: %s", hint)
	} else if v, ok := p.str(t); ok {
		prov.Type = v
		if keys, typeKnown = p.opts.ProviderKeys(v); !typeKnown {
			p.errorf(t.val, t.path, "unknown provider type %v (known: %s)", p.show(t.val), strings.Join(p.opts.KnownTypes, ", "))
		}
	}
	valid := slices.Clone(commonKeys)
	spec := map[string]Key{}
	for _, k := range keys {
		valid = append(valid, k.Name)
		spec[k.Name] = k
		if k.Secret {
			valid = append(valid, k.Name+"_file")
		}
	}
	for _, e := range fs {
		key := e.key.Value
		switch key {
		case "type":
		case "rate_limit", "change_rate_limit":
			if v, ok := p.str(e); ok {
				rate, err := parseRate(v)
				if err != nil {
					p.errorf(e.val, e.path, "%v %v", p.show(e.val), err)
				}
				if key == "rate_limit" {
					prov.RateLimit = rate
				} else {
					prov.ChangeRate = rate
				}
			}
		case "burst", "concurrency":
			if v, ok := p.integer(e, "a whole number of at least 1"); ok {
				if v < 1 || v > math.MaxInt32 {
					p.errorf(e.val, e.path, "%v is out of range; use a whole number of at least 1, or remove the key for the provider's default", p.show(e.val))
				} else if key == "burst" {
					prov.Burst = int(v)
				} else {
					prov.Concurrency = int(v)
				}
			}
		default:
			if _, ok := spec[key]; ok {
				continue // read below, together with its _file form
			}
			if base, ok := strings.CutSuffix(key, "_file"); ok && spec[base].Secret {
				continue
			}
			if typeKnown {
				p.errorf(e.key, f.path, "unknown key %q for type %s (valid: %s)", key, prov.Type, strings.Join(valid, ", "))
			}
		}
	}
	for _, k := range keys {
		v, ok := p.setting(byKey, f, k)
		if !ok {
			continue
		}
		if k.Secret {
			prov.Secrets[k.Name] = NewSecret(join(f.path, k.Name), v)
		} else {
			prov.Settings[k.Name] = v
		}
	}
	return prov
}

// setting reads one type-specific key, from the file form for secrets,
// checking that a required key is there and not empty.
func (p *parser) setting(byKey map[string]field, parent field, k Key) (string, bool) {
	v, n, ok := p.settingValue(byKey, parent, k)
	if !ok || v == "" || k.Check == nil {
		return v, ok
	}
	if err := k.Check(v); err != nil {
		path := join(parent.path, k.Name)
		switch {
		case k.Secret:
			// Named by its key (and file), never shown.
			p.errorf(n, path, "the secret %v", err)
		default:
			p.errorf(n, path, "%v %v", p.show(n), err)
		}
		return "", false
	}
	return v, true
}

// settingValue reads one setting and the node it came from (the path of
// its file for <key>_file).
func (p *parser) settingValue(byKey map[string]field, parent field, k Key) (string, *yaml.Node, bool) {
	direct, hasDirect := byKey[k.Name]
	file, hasFile := byKey[k.Name+"_file"]
	hasFile = hasFile && k.Secret
	path := join(parent.path, k.Name)
	switch {
	case hasDirect && hasFile:
		p.errorf(file.key, parent.path, "give %s or %s_file, not both", k.Name, k.Name)
		return "", nil, false
	case hasFile:
		v, ok := p.secretFile(file, path)
		return v, file.val, ok
	case !hasDirect || isNull(direct.val):
		if k.Required {
			alt := ""
			if k.Secret {
				alt = fmt.Sprintf(" (or %s_file: <path>)", k.Name)
			}
			p.errorf(parent.key, parent.path, "missing required key %s%s; add it", k.Name, alt)
		}
		return "", nil, false
	}
	v, ok := p.str(direct)
	if !ok {
		return "", nil, false
	}
	if v == "" && k.Required {
		p.errorf(direct.val, "", "%s; give it a value", p.emptyMsg(direct.val, path))
		return "", nil, false
	}
	return v, direct.val, true
}

func (p *parser) emptyMsg(n *yaml.Node, path string) string {
	vars := p.vars(n)
	switch len(vars) {
	case 0:
		return path + " is empty"
	case 1:
		return fmt.Sprintf("%s is empty (%s is set but empty)", path, vars[0])
	}
	return fmt.Sprintf("%s is empty (%s are set but empty)", path, strings.Join(vars, ", "))
}

// secretFile reads a secret from the file named by f, relative to the
// config's directory. Errors name the key and path, never the content.
func (p *parser) secretFile(f field, path string) (string, bool) {
	name, ok := p.str(f)
	if !ok || name == "" {
		if ok || isNull(f.val) {
			p.errorf(f.val, f.path, "is empty; give the path of the file holding %s", path)
		}
		return "", false
	}
	abs := p.abs(name)
	data, err := p.opts.ReadFile(abs, MaxSecretFile)
	if err != nil {
		p.errorf(f.val, f.path, "cannot read %v: %v; check the path (relative paths start at %s)", p.showPath(f.val, abs), withoutPath(err), p.dir)
		return "", false
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		p.errorf(f.val, "", "%s is empty (file %v is empty); put the secret in it", path, p.showPath(f.val, abs))
		return "", false
	}
	return v, true
}

// showPath is the path in the value of n, resolved to abs, for a message:
// abs when written in the file, the text as written when expanded.
func (p *parser) showPath(n *yaml.Node, abs string) fmt.Stringer {
	if _, ok := p.expanded[n]; ok {
		return p.show(n)
	}
	return shown{text: abs}
}

// withoutPath drops the path from a file system error, which the message
// already names.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// abs resolves a path from the config against the config's directory.
func (p *parser) abs(path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(p.dir, path)
}

// parseRate reads "N/s", "N/m", "N/5m", "N/h" (N may be decimal) as a rate
// per second. Its errors say what is wrong without quoting s.
func parseRate(s string) (float64, error) {
	bad := errors.New("is not a rate; write N/s, N/m, N/5m or N/h, e.g. 4/s or 0.5/s")
	num, per, ok := strings.Cut(s, "/")
	if !ok || !isDecimal(num) || per == "" {
		return 0, bad
	}
	unit := map[byte]float64{'s': 1, 'm': 60, 'h': 3600}[per[len(per)-1]]
	if unit == 0 {
		return 0, bad
	}
	count := 1.0
	if digits := per[:len(per)-1]; digits != "" {
		n, err := strconv.ParseUint(digits, 10, 32)
		if err != nil || n == 0 {
			return 0, bad
		}
		count = float64(n)
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 || math.IsInf(n, 0) {
		return 0, errors.New("has no requests: the number must be above 0; write e.g. 4/s")
	}
	return n / (count * unit), nil
}

func isDecimal(s string) bool {
	intPart, frac, hasDot := strings.Cut(s, ".")
	return allDigits(intPart) && (!hasDot || allDigits(frac))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (p *parser) providerExists(n *yaml.Node, path, name string, cfg *Config) bool {
	if _, ok := cfg.Providers[name]; ok {
		return true
	}
	defined := make([]string, 0, len(cfg.Providers))
	for n := range cfg.Providers {
		defined = append(defined, n)
	}
	sort.Strings(defined)
	list := "none"
	if len(defined) > 0 {
		list = strings.Join(defined, ", ")
	}
	p.errorf(n, path, "no provider named %v under providers: (defined: %s); add it or fix the name", p.show(n), list)
	return false
}

func (p *parser) zones(f field, cfg *Config) {
	lines := map[string]int{}
	for _, e := range p.entries(f.val, f.path) {
		zone := p.domain(e.key, f.path, "zone name")
		name, ok := p.str(e)
		if !ok {
			if isNull(e.val) {
				p.errorf(e.val, e.path, "needs a provider name from providers:")
			}
			continue
		}
		p.providerExists(e.val, e.path, name, cfg)
		if zone == "" {
			continue
		}
		if first, dup := lines[zone]; dup {
			p.errorf(e.key, f.path, "zone %s is listed twice (first at line %d); keep one", zone, first)
			continue
		}
		lines[zone] = e.key.Line
		cfg.Zones[zone] = name
	}
}

func (p *parser) mailcow(f field) *Mailcow {
	m := &Mailcow{IncludeAliasDomains: true}
	fs, ok := p.section(f, mailcowKeys...)
	if !ok {
		return m
	}
	if u, ok := fs["url"]; !ok || isNull(u.val) {
		p.errorf(f.key, f.path, "url is required; add url: https://<your mailcow host>")
	} else if v, ok := p.str(u); ok {
		if err := checkMailcowURL(v); err != nil {
			p.errorf(u.val, u.path, "%v %v", p.show(u.val), err)
		}
		m.URL = v
	}
	if v, ok := p.setting(fs, f, Key{Name: "api_key", Secret: true, Required: true}); ok {
		m.APIKey = NewSecret(join(f.path, "api_key"), v)
	}
	if c, ok := fs["ca_file"]; ok {
		if v, ok := p.str(c); ok && v != "" {
			m.CAFile = p.abs(v)
			if _, err := p.opts.ReadFile(m.CAFile, MaxCAFile); err != nil {
				p.errorf(c.val, c.path, "cannot read %v: %v; check the path (relative paths start at %s)", p.showPath(c.val, m.CAFile), withoutPath(err), p.dir)
			}
		} else if ok {
			p.errorf(c.val, c.path, "is empty; give the path of a PEM file or remove the key")
		}
	}
	if t, ok := fs["tags"]; ok {
		items, _ := p.list(t, "[mta-sts]")
		for _, it := range items {
			tag := strings.TrimSpace(it.val)
			switch {
			case tag == "":
				p.errorf(it.node, it.path, "%v is blank; give a tag or remove the entry", p.show(it.node))
			case strings.Contains(tag, ","):
				p.errorf(it.node, it.path, "%v contains a comma, which mailcow's API uses to separate tags: give each tag as its own entry", p.show(it.node))
			default:
				m.Tags = append(m.Tags, tag)
			}
		}
	}
	if b, ok := fs["include_alias_domains"]; ok {
		if v, ok := p.boolean(b); ok {
			m.IncludeAliasDomains = v
		}
	}
	if b, ok := fs["manage_policy"]; ok {
		if v, ok := p.boolean(b); ok {
			m.ManagePolicy = v
		}
	}
	if c, ok := fs["conf"]; ok {
		if v, ok := p.str(c); ok && v != "" {
			m.Conf = p.abs(v)
		} else if ok {
			p.errorf(c.val, c.path, "is empty; give the path of mailcow.conf or remove the key")
		}
	}
	return m
}

// checkMailcowURL demands https, because the API key travels with every
// request; plain http is fine only to the local machine. Its errors say
// what is wrong without quoting raw.
func checkMailcowURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL; write https://mail.example.com")
	}
	if u.User != nil {
		return errors.New("must not contain a user or password; put the key in api_key")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("has no host; write https://mail.example.com")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("uses http, which would send the API key in clear; use https (http is allowed only for localhost)")
	}
	return errors.New("must start with https://")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// crossCheck applies the rules that relate keys to each other.
func (p *parser) crossCheck(root *yaml.Node, top map[string]field, cfg *Config, domainNodes map[string]*yaml.Node) {
	if f, has := top["domains"]; len(cfg.Domains) == 0 && len(cfg.Retire) == 0 && cfg.Mailcow == nil {
		// A list whose entries were all rejected has been reported already.
		if !has || isNull(f.val) || (f.val.Kind == yaml.SequenceNode && len(f.val.Content) == 0) {
			n := root
			if has {
				n = f.val
			}
			p.errorf(n, "", "no domains; list them under domains: or configure mailcow: to discover them")
		}
	}
	layout, hasLayout := top["layout"]
	primary, hasPrimary := top["primary"]
	switch {
	case cfg.Layout == LayoutDelegated && !hasPrimary:
		p.errorf(layout.val, layout.path, "delegated needs primary: <domain>, the domain that carries the TXT records; add primary:")
	case cfg.Layout == LayoutDirect && hasPrimary:
		where := "the default layout is direct"
		if hasLayout {
			where = "layout is direct"
		}
		p.errorf(primary.key, primary.path, "is only used with layout: delegated (%s); remove primary or set layout: delegated", where)
	case cfg.Primary != "" && cfg.Mailcow == nil && domainNodes[cfg.Primary] == nil:
		p.errorf(primary.val, primary.path, "%v is not one of domains; add it to domains or pick one of them", p.showAs(primary.val, cfg.Primary))
	}
	if cfg.Mailcow != nil && cfg.Mailcow.ManagePolicy && cfg.Policy.File != "" {
		n := top["mailcow"].key
		if f, ok := top["policy"]; ok {
			n = f.key
		}
		p.errorf(n, "", "mailcow.manage_policy: true and policy.file exclude each other: mailcow serves the policy itself; remove policy.file or set manage_policy: false")
	}
	if cfg.Mailcow != nil && cfg.Mailcow.ManagePolicy && cfg.Policy.Dir != "" {
		p.errorf(top["policy"].key, "", "mailcow.manage_policy: true and policy.dir exclude each other: mailcow serves the policy itself; remove policy.dir or set manage_policy: false")
	}
	if _, ok := top["policy"]; !ok && cfg.Mailcow != nil && cfg.Layout == LayoutDelegated {
		p.errorf(layout.val, layout.path, "delegated needs one policy for every domain, but without policy: each mailcow domain serves its own; add policy: (with mailcow.manage_policy: true or policy.file), or use layout: direct")
	}
	if _, ok := top["policy"]; !ok && cfg.Mailcow != nil && cfg.Mailcow.ManagePolicy {
		p.errorf(top["mailcow"].key, "mailcow", "manage_policy: true needs the policy to put in mailcow; add policy: with mode: and max_age:")
	}
	// A provider: naming an undefined provider is reported already; it still
	// counts here so that each domain is not blamed for it again.
	def, hasDefault := top["provider"]
	hasDefault = hasDefault && !isNull(def.val)
	for _, d := range cfg.Domains {
		if _, _, ok := cfg.ZoneFor(d); !ok && !hasDefault {
			p.errorf(domainNodes[d], "domains", "%v is in no configured zone; add a zones: entry for its zone or set provider: <name> to discover it", p.showAs(domainNodes[d], d))
		}
	}
	if cfg.Mailcow != nil && len(cfg.Zones) == 0 && !hasDefault {
		p.errorf(top["mailcow"].key, "mailcow", "discovered domains need a DNS provider; add zones: entries or a default provider:")
	}
}
