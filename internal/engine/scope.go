package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/dane"
	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// A saved plan is an artifact passed between CI jobs: whoever can edit it
// must not make apply do more than a plan made from the current config
// could. Its fingerprints only prove it is self-consistent, so before any
// I/O ApplySaved holds every write against the config (savedScope):
//
//   - a policy file step writes policy.file, or policy.dir's file of its
//     domain, and its content is an MTA-STS policy;
//   - a mailcow step writes the MTA-STS entry of the domain it names, and
//     only with mailcow.manage_policy;
//   - a zone change writes one of our kinds' names (mta-sts., _mta-sts.,
//     _smtp._tls. under its domain, _<port>._tcp. under a dane: host)
//     with the kind's record types, in the zone and through the provider
//     the config gives that domain (zones:, else the default provider);
//     the domain is one of domains: or retire: (any with mailcow), the
//     host one of dane.hosts (domainScope); whether it is gated is its
//     kind's;
//   - its records are all at that name and of that type; the records it
//     removes or keeps are ones the plan saw there, and the ones it removes
//     are ours (an STS or TLSRPT record, a DANE marker, a CNAME);
//   - what it writes is what the config asks for: the policy host CNAME,
//     the config's TLSRPT record, the STS record with the id of the policy
//     the plan expects of the domain, a CNAME to the primary's name in the
//     delegated layout, TLSA `3 1 1` records and their marker;
//   - the policy it publishes (policy file, mailcow entry, expected
//     policy) is the config's, unless the domain is retiring or the policy
//     is not known offline (mailcow serves it, or mx is mailcow's hostname).

// ScopeError is why a saved plan was not applied: it does what no plan of
// the current config could. Nothing was written.
type ScopeError struct {
	Config string   // the config's path
	Out    []string // one line per write out of scope
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("the saved plan does what no plan made from %s could; nothing was written:\n  %s\nthe file was edited, or the config changed: run plan again",
		e.Config, strings.Join(e.Out, "\n  "))
}

// savedScope holds every write of p against the config (see above).
func (e *Engine) savedScope(p reconcile.Plan) error {
	var out []string
	for _, st := range p.Steps {
		if st.Action == reconcile.Create || st.Action == reconcile.Update {
			if msg := e.stepScope(p, st); msg != "" {
				out = append(out, msg)
			}
		}
	}
	for _, zp := range p.Zones {
		for _, c := range zp.Changes {
			if !c.Applies() {
				continue
			}
			for _, msg := range e.changeScope(p, zp, c) {
				out = append(out, fmt.Sprintf("zone %s: %s %s %s: %s", zp.Zone, c.Action, c.Name, c.Type, msg))
			}
		}
	}
	if len(out) > 0 {
		return &ScopeError{Config: e.cfg.Path, Out: out}
	}
	return nil
}

// stepScope says why a policy step is out of scope, or "".
func (e *Engine) stepScope(p reconcile.Plan, st reconcile.Step) string {
	cfg := e.cfg
	switch st.Kind {
	case reconcile.StepPolicyFile:
		var want string
		switch {
		case cfg.PolicySource() != config.PolicyFromConfig:
			return fmt.Sprintf("policy file %s: the config's policy is not written to files", st.Target)
		case st.Domain == "" && cfg.Policy.File != "" && cfg.Policy.Dir == "":
			want = cfg.Policy.File
		case st.Domain != "" && cfg.Policy.Dir != "" && validDomain(st.Domain):
			if msg := e.domainScope(reconcile.KindSTS, st.Domain); msg != "" {
				return fmt.Sprintf("policy file %s: %s", st.Target, msg)
			}
			want = PolicyDirFile(cfg.Policy.Dir, st.Domain)
		}
		if want == "" || st.Target != want {
			return fmt.Sprintf("policy file %s is not the config's policy.file or a policy.dir file", st.Target)
		}
		got, _, err := mtasts.ParsePolicy(st.Content)
		if err != nil {
			return fmt.Sprintf("policy file %s: the content is not an MTA-STS policy: %v", st.Target, err)
		}
		var ok bool
		if st.Domain != "" {
			ok = e.expectedScope(p, st.Domain) == "" && got.Equal(p.Expected[st.Domain])
		} else {
			pol, known := e.knownConfigPolicy()
			ok = !known || got.Equal(pol)
		}
		if !ok {
			return fmt.Sprintf("policy file %s: the policy it writes (%s) is not the config's", st.Target, describe(got))
		}
	case reconcile.StepMailcowPolicy:
		switch {
		case cfg.PolicySource() != config.PolicyMailcowManaged:
			return fmt.Sprintf("mailcow policy of %s: the config does not set mailcow.manage_policy", st.Target)
		case st.MailcowSTS == nil || st.MailcowSTS.Domain != st.Target || !validDomain(st.Target):
			return fmt.Sprintf("mailcow policy of %s: the entry is not that domain's", st.Target)
		case e.expectedScope(p, st.Target) != "":
			return "mailcow policy of " + e.expectedScope(p, st.Target)
		}
		m := st.MailcowSTS
		if got := (mtasts.Policy{Mode: mtasts.Mode(m.Mode), MaxAge: m.MaxAge, MX: m.MX}); !got.Equal(p.Expected[st.Target]) {
			return fmt.Sprintf("mailcow policy of %s: the entry (%s) is not the policy the plan publishes", st.Target, describe(got.Normalize()))
		}
	}
	// A step of an unknown kind is refused by checkSaved.
	return ""
}

// kindShape is what a saved change of a kind may write: the prefix of its
// name and its record types.
func (e *Engine) kindShape(kind string) (prefix string, types []string, ok bool) {
	switch kind {
	case reconcile.KindPolicyHost:
		return "mta-sts.", []string{"CNAME"}, true
	case reconcile.KindTLSRPT:
		return "_smtp._tls.", []string{"TXT", "CNAME"}, true
	case reconcile.KindSTS:
		return "_mta-sts.", []string{"TXT", "CNAME"}, true
	}
	if e.cfg.DANE != nil {
		for _, port := range e.cfg.DANE.Ports {
			if kind == reconcile.DANEKindName(port) {
				return "_" + strconv.Itoa(port) + "._tcp.", []string{"TLSA", "TXT"}, true
			}
		}
	}
	return "", nil, false
}

// changeScope says why a change of zp is out of scope, one line each.
func (e *Engine) changeScope(p reconcile.Plan, zp reconcile.ZonePlan, c reconcile.Change) []string {
	prefix, types, ok := e.kindShape(c.Kind)
	switch {
	case !ok:
		return []string{fmt.Sprintf("kind %q is not one this config manages", c.Kind)}
	case !validDomain(c.Domain) || c.Name != dnsname.FQDN(prefix+c.Domain):
		return []string{fmt.Sprintf("not the %s name of domain %q", c.Kind, c.Domain)}
	case !slices.Contains(types, c.Type):
		return []string{fmt.Sprintf("kind %s holds no %s records", c.Kind, c.Type)}
	}
	var out []string
	if msg := e.zoneScope(zp, c.Domain); msg != "" {
		out = append(out, msg)
	}
	if msg := e.domainScope(c.Kind, c.Domain); msg != "" {
		out = append(out, msg)
	}
	// The publish gate at apply time checks the gated changes: whether a
	// change is gated is its kind's, never the file's to say.
	if c.Gated != (c.Kind == reconcile.KindSTS) {
		out = append(out, fmt.Sprintf("gated is %t, but the publish gate decides every %s change and no other", c.Gated, reconcile.KindSTS))
	}
	if c.Kind == reconcile.KindSTS && c.Action != reconcile.Delete {
		if msg := e.expectedScope(p, c.Domain); msg != "" {
			out = append(out, msg)
		}
	}
	seen := reconcile.At(zp.Seen, c.Name)
	check := func(what string, recs []reconcile.Record, judge func(reconcile.Record) string) {
		for _, r := range recs {
			msg := ""
			switch {
			case r.Name != c.Name || r.Type != c.Type:
				msg = fmt.Sprintf("a record to %s is %s %s, not at the change's name and type", what, r.Name, r.Type)
			case judge != nil:
				msg = judge(r)
			}
			if msg != "" {
				out = append(out, msg)
			}
		}
	}
	sawIt := func(r reconcile.Record) string {
		if !slices.ContainsFunc(seen, func(s reconcile.Record) bool { return reconcile.Same(s, r) }) {
			return fmt.Sprintf("%s %s is not among the records the plan saw there", r.Type, reconcile.ShowValue(r.Type, r.Value))
		}
		return ""
	}
	check("remove", c.Have, func(r reconcile.Record) string {
		if msg := sawIt(r); msg != "" {
			return msg
		}
		if !oursToRemove(c.Kind, r) {
			return fmt.Sprintf("%s %s is not ours to remove", r.Type, reconcile.ShowValue(r.Type, r.Value))
		}
		return ""
	})
	check("keep", c.Keep, sawIt)
	check("write", c.Want, func(r reconcile.Record) string { return e.wantScope(p, c.Domain, c.Kind, prefix, r) })
	return out
}

// zoneScope says why domain's records may not be written in zp's zone
// through its provider, or "": the config's zones: entry for the domain,
// else the default provider, in a zone holding the domain.
func (e *Engine) zoneScope(zp reconcile.ZonePlan, domain string) string {
	if zone, prov, ok := e.cfg.ZoneFor(domain); ok {
		if zone != zp.Zone || prov != zp.Provider {
			return fmt.Sprintf("the config puts %s in zone %s through provider %s, not zone %s through %s", domain, zone, prov, zp.Zone, zp.Provider)
		}
		return ""
	}
	switch {
	case e.cfg.Provider == "" || zp.Provider != e.cfg.Provider:
		return fmt.Sprintf("no zones: entry holds %s and provider %s is not the default provider", domain, zp.Provider)
	case !dnsname.IsSubdomain(domain, zp.Zone):
		return fmt.Sprintf("%s is not in zone %s", domain, zp.Zone)
	}
	return ""
}

// wantScope says why r is not a record the config could ask for at a
// kind's name, or "".
func (e *Engine) wantScope(p reconcile.Plan, domain, kind, prefix string, r reconcile.Record) string {
	cfg := e.cfg
	bad := fmt.Sprintf("%s %s is not what the config asks for", r.Type, reconcile.ShowValue(r.Type, r.Value))
	switch {
	case r.Type == "CNAME" && kind == reconcile.KindPolicyHost:
		if cfg.PolicyHost != "" && r.Value != dnsname.FQDN(cfg.PolicyHost) {
			return bad
		}
	case r.Type == "CNAME":
		if cfg.Layout != config.LayoutDelegated || r.Value != dnsname.FQDN(prefix+cfg.Primary) {
			return bad
		}
	case kind == reconcile.KindSTS:
		if rec, _, err := mtasts.ParseSTSRecord(r.Value); err != nil || rec.ID != p.Expected[domain].ID() {
			return bad + fmt.Sprintf(" (the id of %s's policy is %s)", domain, p.Expected[domain].ID())
		}
	case kind == reconcile.KindTLSRPT:
		if cfg.TLSRPT == nil || !reconcile.Same(r, reconcile.Record{Name: r.Name, Type: "TXT", Value: mtasts.TLSRPTRecord{RUA: cfg.TLSRPT.RUA}.String()}) {
			return bad
		}
	case r.Type == "TLSA":
		if _, err := dane.Parse(r.Value); err != nil {
			return bad
		}
	case r.Type == "TXT": // a DANE kind's marker
		if !strings.HasPrefix(strings.TrimSpace(r.Value), reconcile.DANEMarker) {
			return bad
		}
	}
	return ""
}

// oursToRemove reports whether a kind's change may remove r: a CNAME or a
// TLSA record at our name (the plan decided whose), or a TXT record of
// ours, never a foreign TXT beside it.
func oursToRemove(kind string, r reconcile.Record) bool {
	if r.Type != "TXT" {
		return true
	}
	switch kind {
	case reconcile.KindSTS:
		return mtasts.IsSTSRecord(r.Value)
	case reconcile.KindTLSRPT:
		return mtasts.IsTLSRPTRecord(r.Value)
	}
	return strings.HasPrefix(strings.TrimSpace(r.Value), reconcile.DANEMarker)
}

// domainScope says why the config has no records of kind at domain, or
// "": a dane: kind is at the hosts of dane.hosts (with mailcow and no
// hosts there, at the host found at run time), the MTA-STS kinds at the
// domains of domains: and retire: (with mailcow, any: mailcow names them
// and apply does not ask it again).
func (e *Engine) domainScope(kind, domain string) string {
	cfg := e.cfg
	if strings.HasPrefix(kind, "dane-") {
		if cfg.DANE != nil && len(cfg.DANE.Hosts) > 0 && !slices.Contains(cfg.DANE.Hosts, domain) {
			return fmt.Sprintf("%s is not in dane.hosts", domain)
		}
		return ""
	}
	if cfg.Mailcow != nil || slices.Contains(cfg.Domains, domain) {
		return ""
	}
	if _, ok := cfg.Retiring(domain); ok {
		return ""
	}
	return fmt.Sprintf("%s is not in domains: or retire:", domain)
}

// validDomain reports whether d is a domain name in canonical form (no
// path separators, no "..").
func validDomain(d string) bool {
	n, err := dnsname.Normalize(d)
	return err == nil && n == d
}

// expectedScope says why the policy p expects domain to serve is not one a
// plan of the config could expect, or "": the config's policy for a
// domain that is not retiring, where the config gives the policy (with
// mailcow serving it, or the policy host found at run time, any).
func (e *Engine) expectedScope(p reconcile.Plan, domain string) string {
	pol, ok := p.Expected[domain]
	if !ok {
		return fmt.Sprintf("%s: the plan expects no policy of that domain", domain)
	}
	if _, retiring := e.cfg.Retiring(domain); retiring {
		return ""
	}
	if want, known := e.knownConfigPolicy(); known && !pol.Equal(want) {
		return fmt.Sprintf("%s: the plan's policy of that domain (%s) is not the config's (%s)", domain, describe(pol.Normalize()), describe(want))
	}
	return ""
}

// knownConfigPolicy returns the one policy the config publishes, when it
// can be known offline: not with mailcow serving each domain's own, nor
// when its mx defaults to a policy host found at run time.
func (e *Engine) knownConfigPolicy() (mtasts.Policy, bool) {
	if e.cfg.PolicySource() == config.PolicyMailcowServed || (e.cfg.PolicyHost == "" && len(e.cfg.Policy.MX) == 0) {
		return mtasts.Policy{}, false
	}
	return e.configPolicy(e.cfg.PolicyHost).Normalize(), true
}
