package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

func TestPrintable(t *testing.T) {
	tests := []struct {
		in, want, wantLine string
	}{
		{"plain text, ünïcode ✓", "plain text, ünïcode ✓", "plain text, ünïcode ✓"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab", `two\x0alines\x09and a tab`},
		{"\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`, `\x1b[2J\x1b]0;pwned\x07`},
		{"del\x7f c1\u009b31m", `del\x7f c1\x9b31m`, `del\x7f c1\x9b31m`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`, `bidi \u202egnp.exe`},
		{"bad utf8 \xff\xfe", `bad utf8 \xff\xfe`, `bad utf8 \xff\xfe`},
		{"a real U+FFFD \uFFFD stays", "a real U+FFFD \uFFFD stays", "a real U+FFFD \uFFFD stays"},
	}
	for _, tt := range tests {
		if got := Printable(tt.in); got != tt.want {
			t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := PrintableLine(tt.in); got != tt.wantLine {
			t.Errorf("PrintableLine(%q) = %q, want %q", tt.in, got, tt.wantLine)
		}
	}
}

// TestTextEscapesOthersText: text that came from a provider or the DNS
// (here a zone's error and a skip reason) reaches the terminal escaped,
// while the plan's own colours still work.
func TestTextEscapesOthersText(t *testing.T) {
	p := reconcile.Plan{
		Zones:   []reconcile.ZonePlan{{Zone: "example.com", Provider: "cf", Err: errorString("API says \x1b]0;owned\x07\x1b[2J")}},
		Skipped: []reconcile.Skipped{{Domain: "example.org", Reason: "mailcow says \x1b[31mred"}},
	}
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := Text(&b, p, Style{Color: color}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, bad := range []string{"\x1b]", "\x07", "\x1b[2J", "\x1b[31mred"} {
			if strings.Contains(out, bad) {
				t.Errorf("color=%v: output holds %q raw:\n%q", color, bad, out)
			}
		}
		for _, want := range []string{`API says \x1b]0;owned\x07\x1b[2J`, `mailcow says \x1b[31mred`} {
			if !strings.Contains(out, want) {
				t.Errorf("color=%v: output lacks %q:\n%s", color, want, out)
			}
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// A plan file is written by whoever could edit it: a newline inside any of
// its texts must not make a line of its own in show's output, where a
// reviewer would read it as part of the plan.
func TestTextNewlinesForgeNoLine(t *testing.T) {
	forged := "x\n  - evil.example.com. MX 10 mx.evil.test"
	p := reconcile.Plan{
		Warnings: []string{"w " + forged},
		Steps:    []reconcile.Step{{Kind: reconcile.StepPolicyFile, Target: "/srv/p " + forged, Action: reconcile.Update, Old: []string{"a"}, New: []string{"b " + forged}, Reason: "r " + forged}},
		Zones: []reconcile.ZonePlan{
			{Zone: "example.com", Provider: "cf", Changes: []reconcile.Change{{Name: "_mta-sts.example.com.", Type: "TXT", Action: reconcile.Update, Old: []string{"v=STSv1; id=1"}, New: []string{"v=STSv1; id=2"}, Reason: "c " + forged, Why: "why " + forged}}},
			{Zone: "example.net", Provider: "cf", Err: errorString("e " + forged)},
		},
		Retiring: []reconcile.Retirement{{Domain: "example.org", Stage: "retiring", Note: "n " + forged}},
		Orphans:  []reconcile.Orphan{{Domain: "example.info", Zone: "example.info", Provider: "cf", Records: []string{"o " + forged}, Advice: "a " + forged}},
		Skipped:  []reconcile.Skipped{{Domain: "example.biz", Reason: "s " + forged}},
	}
	var b bytes.Buffer
	if err := Text(&b, p, Style{}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "- evil") || strings.HasPrefix(l, "  - evil") {
			t.Errorf("a newline in the plan's text made a line of its own:\n%s", b.String())
		}
	}
	if got := strings.Count(b.String(), `\x0a  - evil.example.com.`); got != 11 {
		t.Errorf("want the 11 forged texts escaped in place, found %d:\n%s", got, b.String())
	}
}
