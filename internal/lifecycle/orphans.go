package lifecycle

import (
	"sort"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/dane"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// Shape says how to recognise records this tool made, by their shape
// alone: a CNAME from mta-sts.D to the policy host, or from _mta-sts.D or
// _smtp._tls.D to the same name under a managed domain (the delegated
// layout's pointers to the primary); and at _<port>._tcp.H, our DANE
// marker TXT (reconcile.DANEMarker) with the TLSA values it lists.
type Shape struct {
	PolicyHost string          // the policy host, with or without the trailing dot
	Managed    map[string]bool // domains a delegated CNAME may point under
	// DANEHosts are the hosts of dane.hosts, lower case without the
	// trailing dot: their _<port>._tcp names are the DANE kind's, on
	// every port. Any other host with our marker is an orphan.
	DANEHosts map[string]bool
}

// Orphan is a domain whose records in a zone are ours by shape although it
// is neither managed nor retiring, or a host whose DANE records are ours
// although it is not in dane.hosts: shown, never deleted.
type Orphan struct {
	Domain  string // the mail domain, or the DANE host
	Zone    string
	Records []reconcile.Record // in write order: mta-sts, _smtp._tls, _mta-sts; DANE: per port, TLSA then the marker
	// Ports are a DANE host's ports with records of ours, ascending; nil
	// for a mail domain.
	Ports []int
}

// Our names under a domain, in write order.
const (
	prefixPolicyHost = "mta-sts."
	prefixTLSRPT     = "_smtp._tls."
	prefixSTS        = "_mta-sts."
)

// Orphans finds, among a zone's live records, the domains with records of
// our shape that known does not claim (desired, retiring or skipped), with
// every record of ours at their names: the identifying CNAMEs, and the
// v=STSv1 and v=TLSRPTv1 TXT records beside them; and the hosts outside
// DANEHosts with a marker of ours at a _<port>._tcp name, with the marker
// and the TLSA values it lists. Foreign records at those names are not
// listed: they are not ours to remove. The list is sorted by domain.
func (s Shape) Orphans(zone string, live []reconcile.Record, known func(domain string) bool) []Orphan {
	zone = strings.TrimSuffix(strings.ToLower(zone), ".")
	out := append(s.domainOrphans(zone, live, known), s.daneOrphans(zone, live)...)
	if len(out) == 0 {
		return nil
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}

// domainOrphans are the mail domains of Orphans.
func (s Shape) domainOrphans(zone string, live []reconcile.Record, known func(domain string) bool) []Orphan {
	host := fqdn(s.PolicyHost)
	byDomain := map[string]bool{}
	for _, r := range live {
		if d, ok := s.identifies(r, host); ok && !known(d) {
			byDomain[d] = true
		}
	}
	if len(byDomain) == 0 {
		return nil
	}
	recs := map[string][]reconcile.Record{}
	for _, r := range live {
		for _, p := range []string{prefixPolicyHost, prefixTLSRPT, prefixSTS} {
			d, ok := under(r.Name, p)
			if !ok || !byDomain[d] || !s.ours(p, r, host) {
				continue
			}
			recs[d] = append(recs[d], r)
		}
	}
	out := make([]Orphan, 0, len(byDomain))
	for d := range byDomain {
		rs := recs[d]
		sort.SliceStable(rs, func(i, j int) bool {
			if a, b := order(rs[i].Name), order(rs[j].Name); a != b {
				return a < b
			}
			return rs[i].Type+rs[i].Value < rs[j].Type+rs[j].Value
		})
		out = append(out, Orphan{Domain: d, Zone: zone, Records: rs})
	}
	return out
}

// daneOrphans are the DANE hosts of Orphans: one per host, over its ports.
func (s Shape) daneOrphans(zone string, live []reconcile.Record) []Orphan {
	type owner struct {
		host string
		port int
	}
	at := map[owner][]reconcile.Record{}
	for _, r := range live {
		if host, port, ok := dane.ParseName(r.Name); ok && !s.DANEHosts[host] {
			at[owner{host, port}] = append(at[owner{host, port}], r)
		}
	}
	names := make([]owner, 0, len(at))
	for o := range at {
		names = append(names, o)
	}
	sort.Slice(names, func(i, j int) bool {
		if names[i].host != names[j].host {
			return names[i].host < names[j].host
		}
		return names[i].port < names[j].port
	})
	var out []Orphan
	for _, n := range names {
		rs := reconcile.DANEClaimed(at[n])
		if len(rs) == 0 {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Domain != n.host {
			out = append(out, Orphan{Domain: n.host, Zone: zone})
		}
		o := &out[len(out)-1]
		o.Records = append(o.Records, rs...)
		o.Ports = append(o.Ports, n.port)
	}
	return out
}

// identifies returns the domain r proves to be one of ours by its shape.
func (s Shape) identifies(r reconcile.Record, host string) (string, bool) {
	if r.Type != "CNAME" {
		return "", false
	}
	for _, p := range []string{prefixPolicyHost, prefixTLSRPT, prefixSTS} {
		if d, ok := under(r.Name, p); ok && s.ours(p, r, host) {
			return d, true
		}
	}
	return "", false
}

// ours reports whether r, at the name with prefix p, is a record we make.
func (s Shape) ours(p string, r reconcile.Record, host string) bool {
	switch {
	case r.Type == "CNAME" && p == prefixPolicyHost:
		return fqdn(r.Value) == host && fqdn(r.Name) != host
	case r.Type == "CNAME":
		target, ok := under(r.Value, p)
		return ok && s.Managed[target]
	case r.Type == "TXT" && p == prefixSTS:
		return mtasts.IsSTSRecord(r.Value)
	case r.Type == "TXT" && p == prefixTLSRPT:
		return mtasts.IsTLSRPTRecord(r.Value)
	}
	return false
}

// under returns D when name is prefix + D.
func under(name, prefix string) (string, bool) {
	d, ok := strings.CutPrefix(strings.ToLower(strings.TrimSuffix(name, ".")), prefix)
	return d, ok && d != "" && !strings.HasPrefix(d, ".")
}

func order(name string) int {
	switch n := strings.ToLower(name); {
	case strings.HasPrefix(n, prefixPolicyHost):
		return 0
	case strings.HasPrefix(n, prefixTLSRPT):
		return 1
	}
	return 2
}

func fqdn(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, ".")) + "."
}

// Records returns domain's records of ours among live, in write order:
// what a retiring domain still has, and what its removal deletes.
func (s Shape) Records(domain string, live []reconcile.Record) []reconcile.Record {
	host := fqdn(s.PolicyHost)
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	var out []reconcile.Record
	for _, r := range live {
		for _, p := range []string{prefixPolicyHost, prefixTLSRPT, prefixSTS} {
			if d, ok := under(r.Name, p); ok && d == domain && s.ours(p, r, host) {
				out = append(out, r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return order(out[i].Name) < order(out[j].Name) })
	return out
}

// LiveOf reads from a domain's records of ours what Decide needs.
func LiveOf(domain string, ours []reconcile.Record) Live {
	live := Live{Any: len(ours) > 0}
	sts := fqdn(prefixSTS + domain)
	for _, r := range ours {
		if fqdn(r.Name) != sts {
			continue
		}
		switch r.Type {
		case "CNAME":
			live.STSPointer = true
		case "TXT":
			id := ""
			if rec, _, err := mtasts.ParseSTSRecord(r.Value); err == nil {
				id = rec.ID
			}
			live.STSIDs = append(live.STSIDs, id)
		}
	}
	return live
}
