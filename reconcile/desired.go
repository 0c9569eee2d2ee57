package reconcile

import (
	"sort"
	"time"
)

// Layout says where the two TXT records live.
type Layout string

const (
	// Direct gives every domain its own TXT records.
	Direct Layout = "direct"
	// Delegated keeps the TXT records at the primary domain only and points
	// every other domain's names at them with CNAMEs, so one id change
	// covers every domain (RFC 8461 §8.2).
	Delegated Layout = "delegated"
)

// Spec is what the desired records of every domain depend on.
type Spec struct {
	// Kinds are the record sets we own under every domain, in write order
	// (removals run in reverse). The engine builds them (MTASTSKinds plus
	// any other kind the config asks for).
	Kinds  []Kind
	Layout Layout
	// Primary carries the TXT records in the delegated layout.
	Primary string
	// TTL is given to the records we create.
	TTL time.Duration
	// Managed holds every mail domain we manage: a CNAME at one of our
	// names that points to the same name under a managed domain is one our
	// delegated layout made, so we may replace it.
	Managed map[string]bool
}

// Domain is one mail domain and where its records live.
type Domain struct {
	Name     string // lower-case A-label, no trailing dot
	Zone     string // lower-case, no trailing dot
	Provider string
	// PolicyID is the id of the policy this domain serves, for its
	// _mta-sts TXT record (in the delegated layout only the primary's counts).
	PolicyID string
	// Hosts are the hosts the domain's kinds with UnderHost name records
	// under (its MX hosts), lower-case, no trailing dot.
	Hosts []string
	// HostOnly marks an entry that is a host (Name, in Hosts), not a mail
	// domain: only kinds with UnderHost apply to it. DANE plans each MX
	// host this way, in the zone that holds the host, which need not hold
	// any mail domain.
	HostOnly bool
}

// slot is one name of one kind for one domain, and what we want there.
type slot struct {
	kind *Kind
	name string
	// want are the records we want at name; empty: remove ours.
	want []Record
}

// slots returns the names d's kinds own, in write order.
func (s Spec) slots(d Domain) []slot {
	var out []slot
	for i := range s.Kinds {
		k := &s.Kinds[i]
		if !k.appliesTo(d) {
			continue
		}
		for _, name := range k.names(d) {
			sl, ok := s.slot(k, d, name)
			if ok {
				out = append(out, sl)
			}
		}
	}
	return out
}

func (s Spec) slot(k *Kind, d Domain, name string) (slot, bool) {
	sl := slot{kind: k, name: name}
	if k.Delegable && s.Layout == Delegated && d.Name != s.Primary {
		sl.want = []Record{{Type: "CNAME", Value: fqdn(k.Prefix + s.Primary)}}
	} else {
		want, ok := k.Want(d, name)
		if !ok {
			return slot{}, false
		}
		sl.want = append([]Record(nil), want...)
	}
	for i := range sl.want {
		sl.want[i].Name = name
		if sl.want[i].TTL == 0 {
			sl.want[i].TTL = s.TTL
		}
		sl.want[i] = Canonical(sl.want[i])
	}
	return sl, true
}

// Desired returns the records spec wants for d, in write order.
func (s Spec) Desired(d Domain) []Record {
	var out []Record
	for _, sl := range s.slots(d) {
		out = append(out, sl.want...)
	}
	return out
}

// Query is one name to look at and the record types that matter there.
type Query struct {
	Name  string
	Types []string
}

// Queries returns what to ask DNS to plan domains from its answers: every
// name of every kind, with the kind's types and CNAME (a CNAME at any of
// our names is ours or in the way). Names are sorted and each is asked once.
func (s Spec) Queries(domains []Domain) []Query {
	types := map[string]map[string]bool{}
	for _, d := range domains {
		for _, sl := range s.slots(d) {
			if types[sl.name] == nil {
				types[sl.name] = map[string]bool{"CNAME": true}
			}
			for _, t := range sl.kind.Types {
				types[sl.name][t] = true
			}
		}
	}
	out := make([]Query, 0, len(types))
	for name, ts := range types {
		q := Query{Name: name}
		for t := range ts {
			q.Types = append(q.Types, t)
		}
		sort.Strings(q.Types)
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
