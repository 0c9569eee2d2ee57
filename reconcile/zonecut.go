package reconcile

import (
	"fmt"
	"sort"
	"strings"
)

// ZoneCut reports why d's records cannot live in zone, from the zone's live
// records: a delegation (NS records at a name below the apex, at or above
// one of d's names) makes the parent's data there invisible (a resolver
// gets a referral), and a DNAME (at the apex or a name above one of d's
// names) answers for every name below it from elsewhere. Records written
// there would be in the zone but never seen by a sender. It returns nil when
// no such cut lies between the apex and any of d's names in the zone.
//
// The cut closest to the apex is reported: it is the one to act on.
func (s Spec) ZoneCut(zone string, d Domain, live []Record) error {
	apex := fqdn(zone)
	ns, dname := map[string][]string{}, map[string][]string{}
	for _, r := range live {
		switch r.Type {
		case "NS":
			if r.Name != apex {
				ns[r.Name] = append(ns[r.Name], fqdn(r.Value))
			}
		case "DNAME":
			dname[r.Name] = append(dname[r.Name], fqdn(r.Value))
		}
	}
	if len(ns) == 0 && len(dname) == 0 {
		return nil
	}
	var found *cut
	for _, name := range s.ownedNames(d) {
		if !inZone(name, apex) {
			continue
		}
		// From the name up to the apex; a closer cut to the apex wins.
		for n := name; ; n = parent(n) {
			if t, ok := ns[n]; ok && (found == nil || len(n) <= len(found.at)) {
				found = &cut{kind: "NS", at: n, to: t, name: name}
			}
			if t, ok := dname[n]; ok && n != name && (found == nil || len(n) <= len(found.at)) {
				found = &cut{kind: "DNAME", at: n, to: t, name: name}
			}
			if n == apex {
				break
			}
		}
	}
	if found == nil {
		return nil
	}
	return found.err(fqdn(d.Name), apex)
}

// cut is a zone cut or DNAME above one of a domain's names.
type cut struct {
	kind string   // "NS" or "DNAME"
	at   string   // the owner of the NS or DNAME records
	to   []string // their targets
	name string   // the domain's name below it
}

func (c *cut) err(domain, apex string) error {
	to := c.to
	sort.Strings(to)
	targets := strings.Join(to, ", ")
	d, zone, at := strings.TrimSuffix(domain, "."), strings.TrimSuffix(apex, "."), strings.TrimSuffix(c.at, ".")
	above := inZone(domain, c.at) // the cut is at the domain or above it
	switch {
	case c.kind == "NS" && c.at == domain:
		return fmt.Errorf("%s is delegated to %s: its records belong in that zone, not in zone %s (map zone %s under zones: to the provider that serves it, or remove the delegation)",
			d, targets, zone, d)
	case c.kind == "NS" && above:
		return fmt.Errorf("%s lies in %s, which is delegated to %s: its records belong in that zone, not in zone %s (map zone %s under zones: to the provider that serves it, or remove the delegation)",
			d, at, targets, zone, at)
	case c.kind == "NS":
		return fmt.Errorf("%s: %s is delegated to %s, so %s belongs in that zone, not in zone %s (remove the delegation, or publish the record there)",
			d, c.at, targets, c.name, zone)
	case above:
		return fmt.Errorf("%s: the DNAME at %s (to %s) answers for every name below it, so records written for %s in zone %s would never be seen (remove the DNAME, or publish the records under its target)",
			d, c.at, targets, d, zone)
	default:
		return fmt.Errorf("%s: the DNAME at %s (to %s) answers for every name below it, so %s written in zone %s would never be seen (remove the DNAME)",
			d, c.at, targets, c.name, zone)
	}
}

// ownedNames are every name d's kinds own, whatever is wanted there.
func (s Spec) ownedNames(d Domain) []string {
	var out []string
	for _, k := range s.Kinds {
		if k.appliesTo(d) {
			out = append(out, k.names(d)...)
		}
	}
	return out
}

// inZone reports whether name (absolute, lower-case) is apex or below it.
func inZone(name, apex string) bool {
	return name == apex || strings.HasSuffix(name, "."+apex)
}

// parent drops the first label of an absolute name; the root is its own.
func parent(name string) string {
	if i := strings.IndexByte(name, '.'); i >= 0 && i < len(name)-1 {
		return name[i+1:]
	}
	return "."
}
