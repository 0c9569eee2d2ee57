package dnstext

import "testing"

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:            "plain",
		`say \"hi\"`:       `say "hi"`,
		`back\\slash`:      `back\slash`,
		`caf\195\169`:      "café",
		`\256x`:            `\256x`,
		`tab\009end`:       "tab\tend",
		`dangling\`:        `dangling\`,
		`v=STSv1\; id=abc`: "v=STSv1; id=abc",
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPresent(t *testing.T) {
	got := Present([]string{`say "hi"`, "café", ""})
	if want := `"say \"hi\"" "caf\195\169" ""`; got != want {
		t.Errorf("Present = %s, want %s", got, want)
	}
}

func TestUnpresent(t *testing.T) {
	for in, want := range map[string]string{
		`v=STSv1; id=abc`:       "v=STSv1; id=abc",
		`"v=STSv1; id=abc"`:     "v=STSv1; id=abc",
		`"part one" "part two"`: "part onepart two",
		`part one" "part two`:   "part onepart two",
		`"a \" b" "c"`:          `a " bc`,
		`"a\\" "b"`:             `a\b`,
		`"caf\195\169"`:         "café",
		`say \"hi\"`:            `say "hi"`,
	} {
		if got := Unpresent(in); got != want {
			t.Errorf("Unpresent(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzUnpresent: any text, escaped and split into quoted
// character-strings anywhere, reads back as itself.
func FuzzUnpresent(f *testing.F) {
	for _, s := range []string{"v=STSv1; id=abc", `a"b`, `a\b`, "café", "\x00\xff", `" "`} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, raw string, cut uint8) {
		k := int(cut) % (len(raw) + 1)
		one := `"` + Escape(raw) + `"`
		two := `"` + Escape(raw[:k]) + `" "` + Escape(raw[k:]) + `"`
		for _, p := range []string{one, two, one[1 : len(one)-1]} {
			if got := Unpresent(p); got != raw && !(p == one[1:len(one)-1] && raw == "") {
				t.Fatalf("Unpresent(%q) = %q, want %q", p, got, raw)
			}
		}
		if got := Unescape(Escape(raw)); got != raw {
			t.Fatalf("Unescape(Escape(%q)) = %q", raw, got)
		}
	})
}
