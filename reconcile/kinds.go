package reconcile

import (
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// Kind is one kind of record set we own: where its name is, which records
// there are ours, and what we want there. Kinds are data: the diff, the
// withholding filter, the DNS shortcut's queries and saved plans work over
// them and know no kind by name.
//
// Adding a kind (e.g. DANE TLSA at _25._tcp.<host>) is one new Kind value,
// built where its inputs are known (a constructor beside MTASTSKinds, or
// in the kind's own model package), and appended to Spec.Kinds by the
// engine (engine.spec). Nothing else changes: the diff dispatches on the
// record type the kind wants, Canonical/Same compare its values, and
// authdns asks for the kind's Types.
type Kind struct {
	// Name names the kind in plans, JSON and saved plans ("policy-host").
	Name string
	// Prefix is what goes before the domain (or, with UnderHost, before
	// each of the domain's hosts) to make the kind's name: "_mta-sts.".
	Prefix string
	// UnderHost puts the name under each of Domain.Hosts (TLSA at
	// _25._tcp.<mx host>) instead of under the domain.
	UnderHost bool
	// Types are the record types the name may hold for us. A CNAME there
	// is judged by the diff (ours when it is our delegated form or what
	// Want asks for); list "CNAME" when Want asks for one.
	Types []string
	// Ours reports whether a live record at the name, of one of Types, is
	// one we manage rather than a foreign one we must keep. Nil: every
	// record of Types is ours.
	Ours func(Record) bool
	// OursAt, when set, replaces Ours for kinds whose ownership is written
	// at the name itself (DANE's marker TXT lists the TLSA values we
	// published): it is given every live record at the name.
	OursAt func(r Record, at []Record) bool
	// Want returns the records wanted at name for d (type and value; name
	// and TTL are filled in). No records: remove ours. ok false: the kind
	// does not apply to d at that name, which is left alone.
	Want func(d Domain, name string) (recs []Record, ok bool)
	// Delegable kinds take the delegated form in the delegated layout: a
	// CNAME at every other domain's name to the primary's name, and a
	// CNAME to the same prefix under any managed domain is ours.
	Delegable bool
	// Unique: at most one of our records may be there (several make
	// senders ignore all of them).
	Unique bool
	// Gated kinds send senders to the policy: the publish gate holds their
	// creates and updates back while the policy is not served.
	Gated bool
	// WaitsFor names a kind written before this one whose conflict holds
	// this kind's changes back (policy before pointer), and WaitsWhy says
	// what waits, for the plan's reason.
	WaitsFor, WaitsWhy string
}

// The MTA-STS and TLS-RPT kinds, in write order: the policy host before the
// pointer to it, TLSRPT before the policy id (RFC 8461 §8). Removals run in
// reverse.
const (
	KindPolicyHost = "policy-host"
	KindTLSRPT     = "tls-rpt"
	KindSTS        = "sts"
)

// owns reports whether k manages r (a record of one of its types), among
// the live records at r's name.
func (k Kind) owns(r Record, at []Record) bool {
	switch {
	case !k.holds(r.Type):
		return false
	case k.OursAt != nil:
		return k.OursAt(r, at)
	}
	return k.Ours == nil || k.Ours(r)
}

func (k Kind) holds(typ string) bool {
	for _, t := range k.Types {
		if t == typ {
			return true
		}
	}
	return false
}

// appliesTo reports whether k has names for d: a host entry (HostOnly)
// takes only the kinds that live under hosts.
func (k Kind) appliesTo(d Domain) bool { return !d.HostOnly || k.UnderHost }

// names returns the kind's names for d.
func (k Kind) names(d Domain) []string {
	if !k.UnderHost {
		return []string{fqdn(k.Prefix + d.Name)}
	}
	out := make([]string, 0, len(d.Hosts))
	for _, h := range d.Hosts {
		out = append(out, fqdn(k.Prefix+h))
	}
	return out
}

// MTASTSKinds returns the kinds of RFC 8461 and RFC 8460: the CNAME from
// mta-sts.<domain> to policyHost, the _smtp._tls TXT record tlsrpt (none
// when tlsrpt is empty: _smtp._tls is then left alone), and the _mta-sts TXT
// record carrying each domain's PolicyID.
func MTASTSKinds(policyHost, tlsrpt string) []Kind {
	host := fqdn(policyHost)
	kinds := []Kind{{
		Name:   KindPolicyHost,
		Prefix: "mta-sts.",
		Types:  []string{"CNAME"},
		Ours:   func(r Record) bool { return r.Type == "CNAME" && r.Value == host },
		Want: func(d Domain, name string) ([]Record, bool) {
			// Where mta-sts.D is the policy host itself (its own A/AAAA),
			// it needs no CNAME: one to itself would break it for every
			// domain.
			if name == host {
				return nil, false
			}
			return []Record{{Type: "CNAME", Value: host}}, true
		},
	}}
	if tlsrpt != "" {
		kinds = append(kinds, Kind{
			Name:      KindTLSRPT,
			Prefix:    "_smtp._tls.",
			Types:     []string{"TXT"},
			Ours:      func(r Record) bool { return mtasts.IsTLSRPTRecord(r.Value) },
			Want:      func(Domain, string) ([]Record, bool) { return []Record{{Type: "TXT", Value: tlsrpt}}, true },
			Delegable: true,
			Unique:    true,
		})
	}
	return append(kinds, Kind{
		Name:   KindSTS,
		Prefix: "_mta-sts.",
		Types:  []string{"TXT"},
		Ours:   func(r Record) bool { return mtasts.IsSTSRecord(r.Value) },
		Want: func(d Domain, _ string) ([]Record, bool) {
			return []Record{{Type: "TXT", Value: mtasts.STSRecord{ID: d.PolicyID}.String()}}, true
		},
		Delegable: true,
		Unique:    true,
		// The pointer to a policy, an id or a CNAME to the primary's id,
		// waits while the domain's own policy host cannot serve it.
		Gated:    true,
		WaitsFor: KindPolicyHost,
		WaitsWhy: "the pointer to the policy waits for the policy host",
	})
}
