package reconcile

import "strings"

// Ack is an acknowledged conflict (the config's ignore:): records in the
// way at Name, of Type ("" = any type), that the admin accepts.
type Ack struct {
	Name   string // owner name without the trailing dot, lower-case
	Type   string // upper-case; "" matches any type
	Reason string
}

func (a Ack) matches(c Change) bool {
	return c.Action == Conflict &&
		strings.EqualFold(strings.TrimSuffix(c.Name, "."), a.Name) &&
		(a.Type == "" || strings.EqualFold(c.Type, a.Type))
}

// Acknowledge is a pure filter over a finished plan, like Withhold: every
// conflict an ack matches becomes Acknowledged, still shown with its
// reason and the ack's, and no longer counted as a conflict. It never adds
// work, and changes held back by a conflict stay withheld: acknowledging
// a record in the way does not make the name ours.
//
// unused are the acks that matched no conflict although the plan read the
// zone their name would be in (a zone that failed, or one left out of the
// run, says nothing about them), so an entry that no longer matches
// anything is reported instead of lingering.
func Acknowledge(p Plan, acks []Ack) (out Plan, unused []Ack) {
	if len(acks) == 0 {
		return p, nil
	}
	used := make([]bool, len(acks))
	zones := make([]ZonePlan, len(p.Zones))
	for i, z := range p.Zones {
		changes := make([]Change, len(z.Changes))
		copy(changes, z.Changes)
		for j, c := range changes {
			for k, a := range acks {
				if a.matches(c) {
					used[k] = true
					changes[j].Action = Acknowledged
					changes[j].Reason = joinReasons(c.Reason, "acknowledged: "+a.Reason)
					break
				}
			}
		}
		z.Changes = changes
		zones[i] = z
	}
	p.Zones = zones
	for k, a := range acks {
		if !used[k] && readZoneHolds(p, a.Name) {
			unused = append(unused, a)
		}
	}
	return p, unused
}

// readZoneHolds reports whether name lies under a domain of a zone the
// plan read successfully.
func readZoneHolds(p Plan, name string) bool {
	for _, z := range p.Zones {
		if z.Err != nil {
			continue
		}
		for _, d := range z.Domains {
			if name == d || strings.HasSuffix(name, "."+d) {
				return true
			}
		}
	}
	return false
}

func joinReasons(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
