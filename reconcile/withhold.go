package reconcile

// Hold names what a withholding reason holds back: one domain's changes of
// one kind.
type Hold struct {
	Domain string
	Kind   string
}

// Withhold is a pure filter over a finished plan, like external-dns's
// Policy.Apply: every change apply would write for a held (domain, kind)
// becomes Withheld with its reason, so the old records stay until the new
// ones may go out and the name never goes empty meanwhile. Changes already
// withheld, conflicts and other changes are left as they are; it never
// adds work. The plan given is not modified.
func Withhold(p Plan, reasons map[Hold]string) Plan {
	if len(reasons) == 0 {
		return p
	}
	zones := make([]ZonePlan, len(p.Zones))
	for i, z := range p.Zones {
		zones[i] = z.Withhold(reasons)
	}
	p.Zones = zones
	return p
}

// Withhold is Withhold for one zone's plan.
func (z ZonePlan) Withhold(reasons map[Hold]string) ZonePlan {
	changes := make([]Change, len(z.Changes))
	copy(changes, z.Changes)
	for i, c := range changes {
		if r, ok := reasons[Hold{c.Domain, c.Kind}]; ok && c.Applies() {
			changes[i].Action, changes[i].Reason = Withheld, r
		}
	}
	z.Changes = changes
	return z
}

// hold withholds every change of cs that apply would write.
func hold(cs []Change, reason string) {
	for i := range cs {
		if cs[i].Applies() {
			cs[i].Action, cs[i].Reason = Withheld, reason
		}
	}
}
