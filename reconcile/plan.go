package reconcile

import (
	"fmt"
	"sort"
	"strings"
)

// Action is what a change does.
type Action string

const (
	Create   Action = "create"
	Update   Action = "update"
	Delete   Action = "delete"
	Conflict Action = "conflict" // shown, never applied
	Withheld Action = "withheld" // held back by Withhold until it may go out
	// Acknowledged is a conflict the config's ignore: accepts: shown,
	// never applied, not counted as a conflict.
	Acknowledged Action = "acknowledged"
)

// Change is one RRset change at one of the names we own.
type Change struct {
	Domain   string   `json:"domain"`
	Zone     string   `json:"zone"`
	Provider string   `json:"provider"`
	Kind     string   `json:"kind"`
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Action   Action   `json:"action"`
	Old      []string `json:"old"`
	New      []string `json:"new"`
	Reason   string   `json:"reason,omitempty"`
	// Why says what made the new value: for a policy id, the policy fields
	// that changed.
	Why string `json:"why,omitempty"`

	// Gated: the publish gate decides whether it may go out (its kind is
	// Gated).
	Gated bool `json:"-"`
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
	// Seen are the live records the plan was made from at the names of
	// its kinds (signer-made DNSSEC records left out): what a saved plan
	// checks before it is applied.
	Seen []Record
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
// names of spec's kinds; every other record in live is ignored. A name
// planned for one domain (a host shared by several) is planned once.
func PlanZone(spec Spec, zone, provider string, domains []Domain, live []Record) ZonePlan {
	zp := ZonePlan{Zone: zone, Provider: provider}
	byName := make(map[string][]Record)
	for _, r := range live {
		byName[r.Name] = append(byName[r.Name], r)
	}
	sorted := append([]Domain(nil), domains...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	planned := map[string]bool{}
	for _, d := range sorted {
		zp.Domains = append(zp.Domains, d.Name)
		var writes, removals [][]Change
		conflictAt := map[string]string{} // kind -> a name with a conflict
		for _, sl := range spec.slots(d) {
			if planned[sl.name] {
				continue
			}
			planned[sl.name] = true
			for _, r := range byName[sl.name] {
				if !dnssecTypes[r.Type] {
					zp.Seen = append(zp.Seen, r)
				}
			}
			cs := spec.diffSlot(sl, byName[sl.name])
			for i := range cs {
				cs[i].Domain, cs[i].Zone, cs[i].Provider, cs[i].Kind, cs[i].Gated = d.Name, zone, provider, sl.kind.Name, sl.kind.Gated
				if cs[i].Action == Conflict && conflictAt[sl.kind.Name] == "" {
					conflictAt[sl.kind.Name] = sl.name
				}
			}
			// Policy before pointer: while the name a kind waits for holds
			// records we do not own, the kind's changes wait too.
			if at := conflictAt[sl.kind.WaitsFor]; sl.kind.WaitsFor != "" && at != "" {
				hold(cs, fmt.Sprintf("%s is not ours yet (see the conflict): %s", strings.TrimSuffix(at, "."), sl.kind.WaitsWhy))
			}
			if len(sl.want) == 0 {
				removals = append(removals, cs)
			} else {
				writes = append(writes, cs)
			}
		}
		// Writes in kind order; removals after them, in reverse.
		var changes []Change
		for _, cs := range writes {
			changes = append(changes, cs...)
		}
		for i := len(removals) - 1; i >= 0; i-- {
			changes = append(changes, removals[i]...)
		}
		if len(changes) == 0 {
			zp.InSync = append(zp.InSync, d.Name)
		}
		zp.Changes = append(zp.Changes, changes...)
	}
	sortSeen(zp.Seen)
	return zp
}

// Merge adds the plan of more domains of the same zone, made from the
// same live records with another spec (a retiring domain's), to z.
func (z *ZonePlan) Merge(o ZonePlan) {
	z.Domains = append(z.Domains, o.Domains...)
	z.InSync = append(z.InSync, o.InSync...)
	z.Changes = append(z.Changes, o.Changes...)
	z.Seen = append(z.Seen, o.Seen...)
	sortSeen(z.Seen)
}

// sortSeen orders seen records by name, type and value, so a plan's
// fingerprints do not depend on the order a provider listed them in.
func sortSeen(recs []Record) {
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		return a.Name+"\x00"+a.Type+"\x00"+a.Value < b.Name+"\x00"+b.Type+"\x00"+b.Value
	})
}

// dnssecTypes are maintained by the signer, never by hand: they sit beside
// every name of a signed zone and conflict with nothing.
var dnssecTypes = map[string]bool{"RRSIG": true, "NSEC": true, "NSEC3": true, "NSEC3PARAM": true, "DNSKEY": true, "DS": true, "CDS": true, "CDNSKEY": true}

// diffSlot sorts the live records at one name of one kind and dispatches on
// the type the kind wants there: a CNAME, a set of other records (TXT,
// TLSA, ...), or nothing (remove ours).
func (s Spec) diffSlot(sl slot, live []Record) []Change {
	k := sl.kind
	var cnames, owned, foreign, others []Record
	for _, r := range live {
		switch {
		case r.Type == "CNAME":
			cnames = append(cnames, r)
		case k.owns(r, live):
			owned = append(owned, r)
		case k.holds(r.Type):
			foreign = append(foreign, r)
		case !dnssecTypes[r.Type]:
			others = append(others, r)
		}
	}
	switch {
	case len(sl.want) == 0:
		return s.diffRemove(sl, cnames, owned)
	case sl.want[0].Type == "CNAME":
		return s.diffCNAME(sl, cnames, owned, append(foreign, others...))
	}
	return s.diffSet(sl, cnames, owned, foreign)
}

// diffCNAME plans the one CNAME sl wants: records beside it are in its way,
// ours are removed first, anyone else's are a conflict.
func (s Spec) diffCNAME(sl slot, cnames, owned, blockers []Record) []Change {
	want := sl.want[0]
	if len(cnames) > 0 {
		if len(cnames) == 1 && Same(cnames[0], want) {
			return nil
		}
		if sl.kind.Delegable && !s.allOurs(sl, cnames) {
			return []Change{conflict(sl.name, cnames, fmt.Sprintf("points elsewhere; we need a CNAME to %s; left alone", want.Value))}
		}
		return []Change{{Name: sl.name, Type: "CNAME", Action: Update, Old: values(cnames), New: values(sl.want), Have: cnames, Want: sl.want}}
	}
	if len(blockers) > 0 {
		reason := fmt.Sprintf("conflicts with the CNAME to %s we need; left alone", want.Value)
		var out []Change
		for _, group := range byType(append(append([]Record(nil), blockers...), owned...)) {
			out = append(out, conflict(sl.name, group, reason))
		}
		return out
	}
	var out []Change
	for _, group := range byType(owned) {
		out = append(out, Change{Name: sl.name, Type: group[0].Type, Action: Delete, Old: values(group),
			Reason: fmt.Sprintf("moves to %s (delegated layout)", want.Value), Have: group})
	}
	return append(out, Change{Name: sl.name, Type: "CNAME", Action: Create, New: values(sl.want), Want: sl.want})
}

// diffSet plans the records sl wants, RRset by RRset (one per type), keeping
// the foreign records of each; a CNAME at the name hides them and goes
// first when it is ours.
func (s Spec) diffSet(sl slot, cnames, owned, foreign []Record) []Change {
	var out []Change
	if len(cnames) > 0 {
		if !sl.kind.Delegable || !s.allOurs(sl, cnames) {
			return []Change{conflict(sl.name, cnames, fmt.Sprintf("a CNAME here hides the %s record we need; left alone", sl.want[0].Type))}
		}
		out = append(out, Change{Name: sl.name, Type: "CNAME", Action: Delete, Old: values(cnames),
			Reason: fmt.Sprintf("replaced by this domain's own %s record (direct layout)", sl.want[0].Type), Have: cnames})
	}
	wantByType := map[string][]Record{}
	for _, group := range byType(sl.want) {
		wantByType[group[0].Type] = group
	}
	ownedByType := map[string][]Record{}
	for _, group := range byType(owned) {
		ownedByType[group[0].Type] = group
	}
	for _, group := range byType(sl.want) {
		typ := group[0].Type
		have := ownedByType[typ]
		if sameSet(have, group) {
			continue
		}
		ch := Change{Name: sl.name, Type: typ, Action: Create, Old: values(have), New: values(group),
			Have: have, Want: group, Keep: ofType(foreign, typ)}
		if len(have) > 0 {
			ch.Action = Update
		}
		if sl.kind.Unique && len(have) > 1 {
			ch.Reason = fmt.Sprintf("%d records: senders ignore all of them; replacing them with one", len(have))
		}
		out = append(out, ch)
	}
	// Ours of a type no longer wanted here go.
	for _, group := range byType(owned) {
		if typ := group[0].Type; wantByType[typ] == nil {
			out = append(out, Change{Name: sl.name, Type: typ, Action: Delete, Old: values(group), Have: group, Keep: ofType(foreign, typ)})
		}
	}
	return out
}

// diffRemove removes our records at a name where nothing is wanted: the
// records the kind owns and a CNAME that is ours.
func (s Spec) diffRemove(sl slot, cnames, owned []Record) []Change {
	var out []Change
	var ours []Record
	for _, c := range cnames {
		if sl.kind.owns(c, cnames) || (sl.kind.Delegable && s.allOurs(sl, []Record{c})) {
			ours = append(ours, c)
		}
	}
	for _, group := range byType(append(ours, owned...)) {
		out = append(out, Change{Name: sl.name, Type: group[0].Type, Action: Delete, Old: values(group), Have: group})
	}
	return out
}

// allOurs reports whether every CNAME points where our delegated layout
// would point this name: the same prefix under a domain we manage.
func (s Spec) allOurs(sl slot, cnames []Record) bool {
	for _, c := range cnames {
		target, ok := strings.CutPrefix(c.Value, fqdn(sl.kind.Prefix))
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

func ofType(recs []Record, typ string) []Record {
	var out []Record
	for _, r := range recs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
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
