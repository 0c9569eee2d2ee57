package desecfake

import (
	"fmt"
	"github.com/mtasts-sync/mtasts-sync/internal/dnstext"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// canonicalTXT does what deSEC's LongQuotedTXT does to a TXT record: every
// token must be quoted, `\X` and decimal `\DDD` escapes are decoded, tokens
// longer than 255 bytes are split into 255-byte strings (the API stores the
// wire form back as text), and each string is shown quoted with `"` and `\`
// escaped and bytes outside printable ASCII as `\DDD`.
func canonicalTXT(content string) (string, error) {
	strs, err := parseQuoted(content)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, s := range strs {
		for len(s) > 255 {
			parts = append(parts, s[:255])
			s = s[255:]
		}
		parts = append(parts, s)
	}
	return dnstext.Present(parts), nil
}

// parseQuoted splits TXT content into its quoted strings, decoding escapes.
func parseQuoted(v string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		if i >= len(v) {
			break
		}
		if v[i] != '"' {
			return nil, fmt.Errorf("content must be quoted")
		}
		i++
		var b strings.Builder
		closed := false
		for i < len(v) {
			c := v[i]
			if c == '"' {
				i++
				closed = true
				break
			}
			if c == '\\' {
				if i+3 < len(v) && isDigit(v[i+1]) && isDigit(v[i+2]) && isDigit(v[i+3]) {
					n, _ := strconv.Atoi(v[i+1 : i+4])
					if n > 255 {
						return nil, fmt.Errorf("bad escape")
					}
					b.WriteByte(byte(n))
					i += 4
					continue
				}
				if i+1 >= len(v) {
					return nil, fmt.Errorf("unexpected end of input")
				}
				b.WriteByte(v[i+1])
				i += 2
				continue
			}
			b.WriteByte(c)
			i++
		}
		if !closed {
			return nil, fmt.Errorf("unexpected end of input")
		}
		out = append(out, b.String())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("unexpected end of input")
	}
	return out, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// nameTargetTypes end in a domain name that deSEC wants fully qualified.
var nameTargetTypes = map[string]bool{"CNAME": true, "DNAME": true, "NS": true, "MX": true, "SRV": true, "PTR": true}

// canonicalContent validates one record's content for type typ and returns
// deSEC's canonical form, or the message deSEC gives for it.
func canonicalContent(typ, content string) (string, error) {
	if typ == "TXT" || typ == "SPF" {
		c, err := canonicalTXT(content)
		if err != nil {
			if strings.Contains(err.Error(), "quote") {
				return "", fmt.Errorf("Data for %s records must be given using quotation marks.", typ)
			}
			return "", fmt.Errorf("Record content for type %s malformed: %v", typ, err)
		}
		return c, nil
	}
	fields := strings.Fields(content)
	if nameTargetTypes[typ] && len(fields) > 0 && !strings.HasSuffix(fields[len(fields)-1], ".") {
		return "", fmt.Errorf(`Hostname must be fully qualified (i.e., end in a dot: "example.com.")`)
	}
	rr, err := dns.NewRR(fmt.Sprintf(". 3600 IN %s %s", typ, content))
	if err != nil || rr == nil {
		return "", fmt.Errorf("Record content for type %s malformed: %s", typ, content)
	}
	// deSEC stores records in wire form and prints them back the one way
	// dnspython does: hex fields (TLSA, DS, SSHFP) in lower case.
	buf := make([]byte, dns.Len(rr)+64)
	if off, err := dns.PackRR(rr, buf, 0, nil, false); err == nil {
		if back, _, err := dns.UnpackRR(buf[:off], 0); err == nil {
			rr = back
		}
	}
	return strings.TrimPrefix(rr.String(), rr.Header().String()), nil
}
