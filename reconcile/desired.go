package reconcile

import (
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
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
	// PolicyHost is the target of every mta-sts.<domain> CNAME.
	PolicyHost string
	// TLSRPT is the _smtp._tls TXT value; empty leaves _smtp._tls alone.
	TLSRPT string
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
	// Withheld, when set, says why the _mta-sts record (the id, or in the
	// delegated layout the CNAME to the primary's) must not be created or
	// changed yet (its policy cannot be fetched); the other records go ahead.
	Withheld string
}

// slot is one name we own and what we want there.
type slot struct {
	name string
	// want is the single record we want at name; Type is CNAME or TXT.
	want Record
	// owns reports whether a TXT value at name is one of ours (an MTA-STS or
	// TLSRPT record) rather than a foreign one we must keep.
	owns func(txt string) bool
	// delegation is the prefix of the names our delegated layout points
	// this name at: a CNAME to "<delegation>.<managed domain>." is ours.
	delegation string
	withheld   string
}

// Slot prefixes, in the order a domain's records are written: the policy
// host before the pointer to it, TLSRPT before the policy id (RFC 8461 §8).
const (
	prefixPolicyHost = "mta-sts."
	prefixTLSRPT     = "_smtp._tls."
	prefixSTS        = "_mta-sts."
)

func noTXT(string) bool { return false }

// slots returns the names we own for d, in write order.
func (s Spec) slots(d Domain) []slot {
	ttl := s.TTL
	var out []slot
	// Where mta-sts.D is the policy host itself (its own A/AAAA), it needs
	// no CNAME: one to itself would break it for every domain.
	if policyHost := fqdn(prefixPolicyHost + d.Name); policyHost != fqdn(s.PolicyHost) {
		out = append(out, slot{
			name: policyHost,
			want: Record{Type: "CNAME", Value: fqdn(s.PolicyHost), TTL: ttl},
			owns: noTXT,
		})
	}
	delegated := s.Layout == Delegated && d.Name != s.Primary
	if s.TLSRPT != "" {
		sl := slot{name: fqdn(prefixTLSRPT + d.Name), owns: mtasts.IsTLSRPTRecord, delegation: prefixTLSRPT}
		if delegated {
			sl.want = Record{Type: "CNAME", Value: fqdn(prefixTLSRPT + s.Primary), TTL: ttl}
		} else {
			sl.want = Record{Type: "TXT", Value: s.TLSRPT, TTL: ttl}
		}
		out = append(out, sl)
	}
	// The pointer to a policy, an id or a CNAME to the primary's id, waits
	// while the domain's own policy host cannot serve it.
	sts := slot{name: fqdn(prefixSTS + d.Name), owns: mtasts.IsSTSRecord, delegation: prefixSTS, withheld: d.Withheld}
	if delegated {
		sts.want = Record{Type: "CNAME", Value: fqdn(prefixSTS + s.Primary), TTL: ttl}
	} else {
		sts.want = Record{Type: "TXT", Value: mtasts.STSRecord{ID: d.PolicyID}.String(), TTL: ttl}
	}
	out = append(out, sts)
	for i := range out {
		out[i].want.Name = out[i].name
	}
	return out
}

// Desired returns the records spec wants for d, in write order.
func (s Spec) Desired(d Domain) []Record {
	slots := s.slots(d)
	out := make([]Record, len(slots))
	for i, sl := range slots {
		out[i] = sl.want
	}
	return out
}
