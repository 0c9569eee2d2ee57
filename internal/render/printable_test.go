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
