// Package render writes plans for people (text, optionally coloured) and
// for programs (JSON). It only formats: the plan is built and filtered in
// package reconcile, and rendering never changes it.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// Style says how text output looks.
type Style struct {
	Color bool
}

var symbols = map[reconcile.Action]string{reconcile.Create: "+", reconcile.Update: "~", reconcile.Delete: "-", reconcile.Conflict: "!", reconcile.Withheld: "?", reconcile.Acknowledged: "="}

var colors = map[reconcile.Action]string{reconcile.Create: "\x1b[32m", reconcile.Update: "\x1b[33m", reconcile.Delete: "\x1b[31m", reconcile.Conflict: "\x1b[35m", reconcile.Withheld: "\x1b[36m", reconcile.Acknowledged: "\x1b[2m"}

func (st Style) paint(a reconcile.Action, s string) string {
	if !st.Color {
		return s
	}
	return colors[a] + s + "\x1b[0m"
}

// Text writes the plan for people: steps, one block per zone with
// changes, skipped domains, then a summary line.
func Text(w io.Writer, p reconcile.Plan, st Style) error {
	var b strings.Builder
	for _, w := range p.Warnings {
		linef(&b, "warning: %s\n", w)
	}
	for _, s := range p.Steps {
		line := fmt.Sprintf("  %s %s %s", symbols[s.Action], s.Kind, PrintableLine(s.Target))
		switch {
		case len(s.Old) > 0:
			line += ": " + PrintableLine(arrow(s.Old, s.New, ""))
		case len(s.New) > 0:
			line += ": " + PrintableLine(list(s.New, ""))
		}
		if s.Reason != "" {
			line += "  (" + PrintableLine(s.Reason) + ")"
		}
		b.WriteString(line + "\n")
	}
	var confirmed []string
	for _, z := range p.Zones {
		if z.ConfirmedByDNS {
			confirmed = append(confirmed, z.Zone)
		}
		if z.Err != nil {
			head := fmt.Sprintf("zone %s (provider %s)", PrintableLine(z.Zone), PrintableLine(z.Provider))
			linef(&b, "%s\n  error: %s\n", head, strings.TrimPrefix(z.Err.Error(), head+": "))
			continue
		}
		if len(z.Changes) == 0 {
			continue
		}
		linef(&b, "zone %s (provider %s)\n", z.Zone, z.Provider)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, c := range z.Changes {
			linef(tw, "  %s %s\t%s\t%s\n", symbols[c.Action], c.Name, c.Type, changeText(c))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, r := range p.Retiring {
		linef(&b, "%s %s: %s\n", r.Stage, r.Domain, r.Note)
	}
	for _, o := range p.Orphans {
		linef(&b, "orphaned %s (zone %s, provider %s): %s; %s\n", o.Domain, o.Zone, o.Provider, strings.Join(o.Records, ", "), o.Advice)
	}
	for _, s := range p.Skipped {
		linef(&b, "skipped %s: %s\n", s.Domain, s.Reason)
	}
	if len(confirmed) > 0 {
		linef(&b, "Confirmed in sync by DNS, no API call: %s (not searched for orphans: --no-dns-shortcut reads them).\n", strings.Join(confirmed, ", "))
	}
	sum := p.Summary()
	linef(&b, "Plan: %d to add, %d to change, %d to delete, %s.", sum.Create, sum.Update, sum.Delete, plural(sum.Conflict, "conflict"))
	if sum.Withheld > 0 {
		linef(&b, " %d withheld.", sum.Withheld)
	}
	if sum.Acknowledged > 0 {
		linef(&b, " %d acknowledged.", sum.Acknowledged)
	}
	linef(&b, " %s already in sync.", plural(sum.InSync, "domain"))
	if sum.Errors > 0 {
		linef(&b, " %s (see above).", plural(sum.Errors, "error"))
	}
	b.WriteString("\n")
	// Escape what others wrote before our own colours go in.
	_, err := io.WriteString(w, colorLines(Printable(b.String()), st))
	return err
}

// linef is fmt.Fprintf for one line of the plan: every string or error it
// is given came from a provider, a server or a plan file, so each is kept to
// one line (a newline in a reason must not forge a line of its own).
func linef(w io.Writer, format string, args ...any) {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = PrintableLine(v)
		case error:
			args[i] = PrintableLine(v.Error())
		}
	}
	fmt.Fprintf(w, format, args...)
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

func changeText(c reconcile.Change) string {
	var s string
	switch c.Action {
	case reconcile.Create:
		s = list(c.New, c.Type)
	case reconcile.Update:
		s = arrow(c.Old, c.New, c.Type)
	case reconcile.Delete, reconcile.Conflict, reconcile.Acknowledged:
		s = list(c.Old, c.Type)
	case reconcile.Withheld:
		if len(c.New) > 0 {
			s = list(c.New, c.Type) + " withheld"
		} else {
			s = list(c.Old, c.Type) + " kept for now"
		}
	}
	if c.Reason != "" {
		s += "  " + c.Reason
	}
	if c.Why != "" {
		s += "  (" + c.Why + ")"
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
		out[i] = reconcile.ShowValue(typ, v)
	}
	return strings.Join(out, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// FormatVersion is the version of the JSON document's shape (plan, show
// and apply share it); it is also the saved plan file's format version.
const FormatVersion = 1

// ZoneDoc is one zone in the JSON document.
type ZoneDoc struct {
	Zone           string   `json:"zone"`
	Provider       string   `json:"provider"`
	Domains        []string `json:"domains"`
	InSync         []string `json:"in_sync"`
	ConfirmedByDNS bool     `json:"confirmed_by_dns"`
	Error          string   `json:"error,omitempty"`
}

// Saved says where a saved plan came from.
type Saved struct {
	File         string `json:"file"`
	Created      string `json:"created"`
	ToolVersion  string `json:"tool_version"`
	ConfigPath   string `json:"config"`
	ConfigSHA256 string `json:"config_sha256"`
}

// Doc is the JSON document of a plan: plan, show and apply print it, apply
// with what happened added (embed Doc in a struct with more fields).
type Doc struct {
	FormatVersion int                    `json:"format_version"`
	Saved         *Saved                 `json:"saved,omitempty"`
	Steps         []reconcile.Step       `json:"steps"`
	Changes       []reconcile.Change     `json:"changes"`
	Zones         []ZoneDoc              `json:"zones"`
	Skipped       []reconcile.Skipped    `json:"skipped"`
	Retiring      []reconcile.Retirement `json:"retiring"`
	Orphans       []reconcile.Orphan     `json:"orphans"`
	Warnings      []string               `json:"warnings"`
	Summary       reconcile.Summary      `json:"summary"`
}

// NewDoc returns p's JSON document, every list non-nil.
func NewDoc(p reconcile.Plan) Doc {
	doc := Doc{FormatVersion: FormatVersion, Steps: p.Steps, Changes: []reconcile.Change{}, Zones: []ZoneDoc{}, Skipped: p.Skipped, Warnings: p.Warnings, Summary: p.Summary()}
	if doc.Steps == nil {
		doc.Steps = []reconcile.Step{}
	}
	if doc.Skipped == nil {
		doc.Skipped = []reconcile.Skipped{}
	}
	doc.Retiring, doc.Orphans = p.Retiring, p.Orphans
	if doc.Retiring == nil {
		doc.Retiring = []reconcile.Retirement{}
	}
	if doc.Orphans == nil {
		doc.Orphans = []reconcile.Orphan{}
	}
	if doc.Warnings == nil {
		doc.Warnings = []string{}
	}
	for _, z := range p.Zones {
		jz := ZoneDoc{Zone: z.Zone, Provider: z.Provider, Domains: nonNil(z.Domains), InSync: nonNil(z.InSync), ConfirmedByDNS: z.ConfirmedByDNS}
		if z.Err != nil {
			jz.Error = z.Err.Error()
		}
		doc.Zones = append(doc.Zones, jz)
		for _, c := range z.Changes {
			doc.Changes = append(doc.Changes, ChangeDoc(c))
		}
	}
	return doc
}

// ChangeDoc returns c ready for JSON: old and new never null.
func ChangeDoc(c reconcile.Change) reconcile.Change {
	c.Old, c.New = nonNil(c.Old), nonNil(c.New)
	return c
}

// JSON writes the plan as one JSON document (Doc).
func JSON(w io.Writer, p reconcile.Plan) error {
	return Encode(w, NewDoc(p))
}

// Encode writes v as indented JSON.
func Encode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
