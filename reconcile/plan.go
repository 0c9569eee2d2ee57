package reconcile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// Action is what a change does.
type Action string

const (
	Create   Action = "create"
	Update   Action = "update"
	Delete   Action = "delete"
	Conflict Action = "conflict" // shown, never applied
	Withheld Action = "withheld" // an _mta-sts id held back until its policy is served
)

// Change is one RRset change at one of the names we own.
type Change struct {
	Domain   string   `json:"domain"`
	Zone     string   `json:"zone"`
	Provider string   `json:"provider"`
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Action   Action   `json:"action"`
	Old      []string `json:"old"`
	New      []string `json:"new"`
	Reason   string   `json:"reason,omitempty"`

	// Have are our records the change replaces or removes, Want the ones it
	// writes, and Keep the foreign records of the same RRset that must
	// survive it.
	Have []Record `json:"-"`
	Want []Record `json:"-"`
	Keep []Record `json:"-"`
}

// Applies reports whether apply writes this change.
func (c Change) Applies() bool {
	return c.Action == Create || c.Action == Update || c.Action == Delete
}

// ZonePlan is the plan for one zone.
type ZonePlan struct {
	Zone     string
	Provider string
	// Domains are the mail domains whose records live in this zone.
	Domains []string
	// InSync are the domains that need no change.
	InSync  []string
	Changes []Change
	// ConfirmedByDNS says the zone was found in sync from DNS answers alone,
	// without reading it through the provider.
	ConfirmedByDNS bool
	// Err is set when the zone could not be planned (its read failed).
	Err error
}

// Pending reports whether apply has anything to write in the zone.
func (z ZonePlan) Pending() bool {
	for _, c := range z.Changes {
		if c.Applies() {
			return true
		}
	}
	return false
}

// PlanZone compares what spec wants for domains with the live records of
// their zone and returns the changes, in write order. It only looks at the
// names we own; every other record in live is ignored.
func PlanZone(spec Spec, zone, provider string, domains []Domain, live []Record) ZonePlan {
	zp := ZonePlan{Zone: zone, Provider: provider}
	byName := make(map[string][]Record)
	for _, r := range live {
		byName[r.Name] = append(byName[r.Name], r)
	}
	sorted := append([]Domain(nil), domains...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, d := range sorted {
		zp.Domains = append(zp.Domains, d.Name)
		var changes []Change
		hostBlocked := false
		for _, sl := range spec.slots(d) {
			// Policy before pointer: while the policy host's name holds
			// records we do not own, the pointer to the policy waits too.
			if hostBlocked && strings.HasPrefix(sl.name, prefixSTS) && sl.withheld == "" {
				sl.withheld = fmt.Sprintf("%s%s is not ours yet (see the conflict): the pointer to the policy waits for the policy host", prefixPolicyHost, d.Name)
			}
			cs := spec.diffSlot(sl, byName[sl.name])
			if strings.HasPrefix(sl.name, prefixPolicyHost) && hasConflict(cs) {
				hostBlocked = true
			}
			changes = append(changes, cs...)
		}
		if len(changes) == 0 {
			zp.InSync = append(zp.InSync, d.Name)
		}
		for i := range changes {
			changes[i].Domain, changes[i].Zone, changes[i].Provider = d.Name, zone, provider
		}
		zp.Changes = append(zp.Changes, changes...)
	}
	return zp
}

func hasConflict(cs []Change) bool {
	for _, c := range cs {
		if c.Action == Conflict {
			return true
		}
	}
	return false
}

// dnssecTypes are maintained by the signer, never by hand: they sit beside
// every name of a signed zone and conflict with nothing.
var dnssecTypes = map[string]bool{"RRSIG": true, "NSEC": true, "NSEC3": true, "NSEC3PARAM": true, "DNSKEY": true, "DS": true, "CDS": true, "CDNSKEY": true}

func (s Spec) diffSlot(sl slot, live []Record) []Change {
	var cnames, owned, foreignTXT, others []Record
	for _, r := range live {
		switch {
		case r.Type == "CNAME":
			cnames = append(cnames, r)
		case r.Type == "TXT" && sl.owns(r.Value):
			owned = append(owned, r)
		case r.Type == "TXT":
			foreignTXT = append(foreignTXT, r)
		case !dnssecTypes[r.Type]:
			others = append(others, r)
		}
	}
	if sl.want.Type == "CNAME" {
		return s.diffCNAME(sl, cnames, owned, foreignTXT, others)
	}
	return s.diffTXT(sl, cnames, owned, foreignTXT)
}

func (s Spec) diffCNAME(sl slot, cnames, owned, foreignTXT, others []Record) []Change {
	want := sl.want
	if len(cnames) > 0 {
		if len(cnames) == 1 && cnames[0].Value == want.Value {
			return nil
		}
		if sl.delegation != "" && !s.allOurs(sl, cnames) {
			return []Change{conflict(sl.name, cnames, fmt.Sprintf("points elsewhere; we need a CNAME to %s; left alone", want.Value))}
		}
		return sl.hold([]Change{{Name: sl.name, Type: "CNAME", Action: Update, Old: values(cnames), New: []string{want.Value}, Have: cnames, Want: []Record{want}}})
	}
	blockers := append(append([]Record(nil), foreignTXT...), others...)
	if len(blockers) > 0 {
		reason := fmt.Sprintf("conflicts with the CNAME to %s we need; left alone", want.Value)
		var out []Change
		for _, group := range byType(append(blockers, owned...)) {
			out = append(out, conflict(sl.name, group, reason))
		}
		return out
	}
	var out []Change
	if len(owned) > 0 {
		out = append(out, Change{Name: sl.name, Type: "TXT", Action: Delete, Old: values(owned),
			Reason: fmt.Sprintf("moves to %s (delegated layout)", want.Value), Have: owned})
	}
	out = append(out, Change{Name: sl.name, Type: "CNAME", Action: Create, New: []string{want.Value}, Want: []Record{want}})
	return sl.hold(out)
}

// hold marks every change of a withheld slot withheld: the old record stays
// until the new one may go out, so the name never goes empty meanwhile.
func (sl slot) hold(changes []Change) []Change {
	if sl.withheld == "" {
		return changes
	}
	for i := range changes {
		changes[i].Action, changes[i].Reason = Withheld, sl.withheld
	}
	return changes
}

func (s Spec) diffTXT(sl slot, cnames, owned, foreignTXT []Record) []Change {
	want := sl.want
	var out []Change
	if len(cnames) > 0 {
		if !s.allOurs(sl, cnames) {
			return []Change{conflict(sl.name, cnames, "a CNAME here hides the TXT record we need; left alone")}
		}
		out = append(out, Change{Name: sl.name, Type: "CNAME", Action: Delete, Old: values(cnames),
			Reason: "replaced by this domain's own TXT record (direct layout)", Have: cnames})
	}
	if len(owned) == 1 && mtasts.EquivalentTXT(owned[0].Value, want.Value) {
		return out
	}
	ch := Change{Name: sl.name, Type: "TXT", Action: Create, Old: values(owned), New: []string{want.Value},
		Have: owned, Want: []Record{want}, Keep: foreignTXT}
	if len(owned) > 0 {
		ch.Action = Update
	}
	if len(owned) > 1 {
		ch.Reason = fmt.Sprintf("%d records: senders ignore all of them; replacing them with one", len(owned))
	}
	return sl.hold(append(out, ch))
}

// allOurs reports whether every CNAME points where our delegated layout
// would point this name: the same prefix under a domain we manage.
func (s Spec) allOurs(sl slot, cnames []Record) bool {
	for _, c := range cnames {
		target, ok := strings.CutPrefix(c.Value, sl.delegation)
		if !ok || !s.Managed[strings.TrimSuffix(target, ".")] {
			return false
		}
	}
	return true
}

func conflict(name string, recs []Record, reason string) Change {
	return Change{Name: name, Type: recs[0].Type, Action: Conflict, Old: values(recs), Reason: reason}
}

func values(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Value
	}
	sort.Strings(out)
	return out
}

// byType groups records by type, types sorted.
func byType(recs []Record) [][]Record {
	groups := map[string][]Record{}
	var types []string
	for _, r := range recs {
		if _, ok := groups[r.Type]; !ok {
			types = append(types, r.Type)
		}
		groups[r.Type] = append(groups[r.Type], r)
	}
	sort.Strings(types)
	out := make([][]Record, len(types))
	for i, t := range types {
		out[i] = groups[t]
	}
	return out
}
