// Package dnstext converts TXT character-strings between raw bytes and the
// zone-file (presentation) form that miekg/dns keeps in dns.TXT.Txt and
// that several provider clients hand back: `\"`, `\\` and `\DDD` escapes,
// quotes around each character-string.
package dnstext

import "strings"

// Unescape undoes the escapes of one character-string: \DDD (a decimal
// byte) and \X (X itself). A dangling backslash, which miekg/dns never
// writes but a provider may hand back, stands for itself.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(s) {
			b.WriteByte(c)
			break
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v > 255 { // not a byte: no escape, kept as written
				b.WriteString(s[i : i+4])
			} else {
				b.WriteByte(byte(v))
			}
			i += 3
			continue
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

// Present renders character-strings in presentation form: each quoted and
// escaped, separated by a space, as miekg/dns and dnspython print them.
func Present(strs []string) string {
	parts := make([]string, len(strs))
	for i, s := range strs {
		parts[i] = `"` + Escape(s) + `"`
	}
	return strings.Join(parts, " ")
}

// Unpresent turns a whole TXT value in presentation form into its text:
// outer quotes dropped, character-strings (`"a" "b"`, or `a" "b` once a
// client stripped the outer pair) joined without a separator, escapes
// undone. A value with no quote and no backslash comes back unchanged.
func Unpresent(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	var b strings.Builder
	start := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++ // an escaped character never ends a string
		case strings.HasPrefix(s[i:], `" "`):
			b.WriteString(Unescape(s[start:i]))
			i += 2
			start = i + 1
		}
	}
	if start <= len(s) {
		b.WriteString(Unescape(s[start:]))
	}
	return b.String()
}

// Escape turns raw bytes into the escaped form of one character-string,
// the form dns.TXT.Txt holds: `"` and `\` escaped, bytes outside printable
// ASCII as \DDD.
func Escape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			b.WriteByte('\\')
			b.WriteByte('0' + c/100)
			b.WriteByte('0' + c/10%10)
			b.WriteByte('0' + c%10)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
