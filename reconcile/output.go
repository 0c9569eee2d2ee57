package reconcile

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Step is a change made before any DNS change: the policy published where
// senders fetch it (a file written, mailcow updated).
type Step struct {
	Kind   string   `json:"kind"`   // "policy-file", "mailcow-policy"
	Target string   `json:"target"` // the file, or the domain in mailcow
	Action Action   `json:"action"`
	Old    []string `json:"old,omitempty"`
	New    []string `json:"new,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// Skipped is a domain left out of the run, and why.
type Skipped struct {
	Domain string `json:"domain"`
	Reason string `json:"reason"`
}

// Plan is the whole run's plan: steps before DNS, then one plan per zone.
type Plan struct {
	Steps    []Step
	Zones    []ZonePlan
	Skipped  []Skipped
	Warnings []string
}

// Summary counts a plan's changes.
type Summary struct {
	Create   int `json:"create"`
	Update   int `json:"update"`
	Delete   int `json:"delete"`
	Conflict int `json:"conflict"`
	Withheld int `json:"withheld"`
	InSync   int `json:"in_sync"`
	Errors   int `json:"errors"`
}

// Summary counts the plan's changes by action, steps included.
func (p Plan) Summary() Summary {
	var s Summary
	count := func(a Action) {
		switch a {
		case Create:
			s.Create++
		case Update:
			s.Update++
		case Delete:
			s.Delete++
		case Conflict:
			s.Conflict++
		case Withheld:
			s.Withheld++
		}
	}
	for _, st := range p.Steps {
		count(st.Action)
	}
	for _, z := range p.Zones {
		if z.Err != nil {
			s.Errors++
			continue
		}
		s.InSync += len(z.InSync)
		for _, c := range z.Changes {
			count(c.Action)
		}
	}
	return s
}

// Pending reports whether apply has anything to write.
func (p Plan) Pending() bool {
	s := p.Summary()
	return s.Create+s.Update+s.Delete > 0
}

// Sort puts zones in name order, so the same inputs give the same plan.
func (p *Plan) Sort() {
	sort.SliceStable(p.Zones, func(i, j int) bool {
		a, b := p.Zones[i], p.Zones[j]
		if a.Zone != b.Zone {
			return a.Zone < b.Zone
		}
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		return strings.Join(a.Domains, ",") < strings.Join(b.Domains, ",")
	})
	sort.SliceStable(p.Skipped, func(i, j int) bool { return p.Skipped[i].Domain < p.Skipped[j].Domain })
}

// Style says how text output looks.
type Style struct {
	Color bool
}

var symbols = map[Action]string{Create: "+", Update: "~", Delete: "-", Conflict: "!", Withheld: "?"}

var colors = map[Action]string{Create: "\x1b[32m", Update: "\x1b[33m", Delete: "\x1b[31m", Conflict: "\x1b[35m", Withheld: "\x1b[36m"}

func (st Style) paint(a Action, s string) string {
	if !st.Color {
		return s
	}
	return colors[a] + s + "\x1b[0m"
}

// WriteText writes the plan for people: steps, one block per zone with
// changes, skipped domains, then a summary line.
func (p Plan) WriteText(w io.Writer, st Style) error {
	var b strings.Builder
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	for _, s := range p.Steps {
		line := fmt.Sprintf("  %s %s %s", symbols[s.Action], s.Kind, s.Target)
		switch {
		case len(s.Old) > 0:
			line += ": " + arrow(s.Old, s.New, "")
		case len(s.New) > 0:
			line += ": " + list(s.New, "")
		}
		if s.Reason != "" {
			line += "  (" + s.Reason + ")"
		}
		b.WriteString(line + "\n")
	}
	var confirmed []string
	for _, z := range p.Zones {
		if z.ConfirmedByDNS {
			confirmed = append(confirmed, z.Zone)
		}
		if z.Err != nil {
			head := fmt.Sprintf("zone %s (provider %s)", z.Zone, z.Provider)
			fmt.Fprintf(&b, "%s\n  error: %s\n", head, strings.TrimPrefix(z.Err.Error(), head+": "))
			continue
		}
		if len(z.Changes) == 0 {
			continue
		}
		fmt.Fprintf(&b, "zone %s (provider %s)\n", z.Zone, z.Provider)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, c := range z.Changes {
			fmt.Fprintf(tw, "  %s %s\t%s\t%s\n", symbols[c.Action], c.Name, c.Type, changeText(c))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(&b, "skipped %s: %s\n", s.Domain, s.Reason)
	}
	if len(confirmed) > 0 {
		fmt.Fprintf(&b, "Confirmed in sync by DNS, no API call: %s.\n", strings.Join(confirmed, ", "))
	}
	sum := p.Summary()
	fmt.Fprintf(&b, "Plan: %d to add, %d to change, %d to delete, %s.", sum.Create, sum.Update, sum.Delete, plural(sum.Conflict, "conflict"))
	if sum.Withheld > 0 {
		fmt.Fprintf(&b, " %d withheld.", sum.Withheld)
	}
	fmt.Fprintf(&b, " %s already in sync.", plural(sum.InSync, "domain"))
	if sum.Errors > 0 {
		fmt.Fprintf(&b, " %s could not be read.", plural(sum.Errors, "zone"))
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, colorLines(b.String(), st))
	return err
}

// colorLines paints change lines by their symbol; plain text is unchanged.
func colorLines(s string, st Style) string {
	if !st.Color {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		for a, sym := range symbols {
			if strings.HasPrefix(l, "  "+sym+" ") {
				lines[i] = st.paint(a, strings.TrimSuffix(l, "\n")) + "\n"
			}
		}
	}
	return strings.Join(lines, "")
}

func changeText(c Change) string {
	var s string
	switch c.Action {
	case Create:
		s = list(c.New, c.Type)
	case Update:
		s = arrow(c.Old, c.New, c.Type)
	case Delete, Conflict:
		s = list(c.Old, c.Type)
	case Withheld:
		if len(c.New) > 0 {
			s = list(c.New, c.Type) + " withheld"
		} else {
			s = list(c.Old, c.Type) + " kept for now"
		}
	}
	if c.Reason != "" {
		s += "  " + c.Reason
	}
	return s
}

func arrow(old, new []string, typ string) string {
	return list(old, typ) + " -> " + list(new, typ)
}

func list(vs []string, typ string) string {
	if len(vs) == 0 {
		return "(none)"
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = quoteIf(typ, v)
	}
	return strings.Join(out, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

type jsonZone struct {
	Zone           string   `json:"zone"`
	Provider       string   `json:"provider"`
	Domains        []string `json:"domains"`
	InSync         []string `json:"in_sync"`
	ConfirmedByDNS bool     `json:"confirmed_by_dns"`
	Error          string   `json:"error,omitempty"`
}

type jsonPlan struct {
	Steps    []Step     `json:"steps"`
	Changes  []Change   `json:"changes"`
	Zones    []jsonZone `json:"zones"`
	Skipped  []Skipped  `json:"skipped"`
	Warnings []string   `json:"warnings"`
	Summary  Summary    `json:"summary"`
}

// WriteJSON writes the plan as one JSON document.
func (p Plan) WriteJSON(w io.Writer) error {
	doc := jsonPlan{Steps: p.Steps, Changes: []Change{}, Zones: []jsonZone{}, Skipped: p.Skipped, Warnings: p.Warnings, Summary: p.Summary()}
	if doc.Steps == nil {
		doc.Steps = []Step{}
	}
	if doc.Skipped == nil {
		doc.Skipped = []Skipped{}
	}
	if doc.Warnings == nil {
		doc.Warnings = []string{}
	}
	for _, z := range p.Zones {
		jz := jsonZone{Zone: z.Zone, Provider: z.Provider, Domains: nonNil(z.Domains), InSync: nonNil(z.InSync), ConfirmedByDNS: z.ConfirmedByDNS}
		if z.Err != nil {
			jz.Error = z.Err.Error()
		}
		doc.Zones = append(doc.Zones, jz)
		for _, c := range z.Changes {
			c.Old, c.New = nonNil(c.Old), nonNil(c.New)
			doc.Changes = append(doc.Changes, c)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
