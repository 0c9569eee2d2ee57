package render

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable makes text safe to write to a terminal: control characters
// (C0 but newline and tab, DEL, C1), bidirectional-text controls and bytes
// that are not UTF-8 are shown as \xNN or \uNNNN escapes. Much of what we
// print comes from others (TXT records, mailcow's and providers' error
// messages, served policies), and an escape sequence in it must not clear
// the screen, retitle the window or forge an output line's colour.
func Printable(s string) string {
	return printable(s, false)
}

// PrintableLine is Printable for text that must stay on one line: a
// newline or tab is escaped as well.
func PrintableLine(s string) string {
	return printable(s, true)
}

func printable(s string, oneLine bool) string {
	clean := func(r rune) bool {
		if r == '\n' || r == '\t' {
			return !oneLine
		}
		return !unicode.IsControl(r) && !unicode.Is(unicode.Bidi_Control, r)
	}
	ok := utf8.ValidString(s)
	for _, r := range s {
		if !ok || !clean(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case clean(r):
			b.WriteString(s[i : i+size])
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}
