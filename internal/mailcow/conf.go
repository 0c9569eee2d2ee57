package mailcow

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
)

// Conf holds the settings of mailcow.conf that decide which host names
// mailcow's nginx answers and its certificate covers.
type Conf struct {
	Hostname              string   // MAILCOW_HOSTNAME, normalised
	AdditionalSAN         []string // ADDITIONAL_SAN, comma separated
	AdditionalServerNames []string // ADDITIONAL_SERVER_NAMES, comma separated
}

// maxConfLine bounds one line of mailcow.conf, and the file; real lines
// are short, the whole file a few KiB.
const maxConfLine = 1 << 20

// LoadConf reads mailcow.conf from path.
func LoadConf(path string) (Conf, error) {
	data, err := safefile.ReadFile(path, maxConfLine)
	if err != nil {
		return Conf{}, fmt.Errorf("mailcow.conf: %w (point the setting at mailcow-dockerized/mailcow.conf)", err)
	}
	c, err := ParseConf(bytes.NewReader(data))
	if err != nil {
		return Conf{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConf reads mailcow.conf: shell-style KEY=value lines, # comments,
// values optionally in single or double quotes. A later assignment wins, as
// when the shell sources the file. Lines that are not assignments are
// ignored; an unterminated quote is an error naming its line.
func ParseConf(r io.Reader) (Conf, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxConfLine)
	for n := 1; sc.Scan(); n++ {
		key, value, ok, err := parseConfLine(sc.Text())
		if err != nil {
			return Conf{}, fmt.Errorf("line %d: %w", n, err)
		}
		if ok {
			vars[key] = value
		}
	}
	if err := sc.Err(); err != nil {
		return Conf{}, fmt.Errorf("reading mailcow.conf: %w", err)
	}
	raw, ok := vars["MAILCOW_HOSTNAME"]
	if !ok || strings.TrimSpace(raw) == "" {
		return Conf{}, errors.New("MAILCOW_HOSTNAME is not set: is this mailcow.conf?")
	}
	host, err := normalize(strings.TrimSpace(raw))
	if err != nil {
		return Conf{}, fmt.Errorf("MAILCOW_HOSTNAME %q: %w", raw, err)
	}
	return Conf{
		Hostname:              host,
		AdditionalSAN:         splitNames(vars["ADDITIONAL_SAN"]),
		AdditionalServerNames: splitNames(vars["ADDITIONAL_SERVER_NAMES"]),
	}, nil
}

// parseConfLine splits one line into an assignment. ok is false for blank
// lines, comments and anything that is not NAME=value.
func parseConfLine(line string) (key, value string, ok bool, err error) {
	s := strings.TrimSpace(line)
	if s == "" || s[0] == '#' {
		return "", "", false, nil
	}
	s = strings.TrimPrefix(s, "export ")
	eq := strings.IndexByte(s, '=')
	if eq <= 0 || !isShellName(s[:eq]) {
		return "", "", false, nil
	}
	key, rest := s[:eq], s[eq+1:]
	var b strings.Builder
	for i := 0; i < len(rest); {
		ch := rest[i]
		switch {
		case ch == '\'':
			end := strings.IndexByte(rest[i+1:], '\'')
			if end < 0 {
				return "", "", false, fmt.Errorf("%s: unterminated ' quote", key)
			}
			b.WriteString(rest[i+1 : i+1+end])
			i += end + 2
		case ch == '"':
			j := i + 1
			closed := false
			for j < len(rest) {
				if rest[j] == '\\' && j+1 < len(rest) && strings.IndexByte("\"\\$`", rest[j+1]) >= 0 {
					b.WriteByte(rest[j+1])
					j += 2
					continue
				}
				if rest[j] == '"' {
					closed = true
					break
				}
				b.WriteByte(rest[j])
				j++
			}
			if !closed {
				return "", "", false, fmt.Errorf("%s: unterminated \" quote", key)
			}
			i = j + 1
		case ch == ' ' || ch == '\t':
			// Unquoted whitespace ends the value; only a comment may follow.
			tail := strings.TrimSpace(rest[i:])
			if tail != "" && tail[0] != '#' {
				return "", "", false, fmt.Errorf("%s: unquoted space in value: quote the value", key)
			}
			return key, b.String(), true, nil
		case ch == '\\' && i+1 < len(rest):
			b.WriteByte(rest[i+1])
			i += 2
		default:
			b.WriteByte(ch)
			i++
		}
	}
	return key, b.String(), true, nil
}

// isShellName reports whether s is a valid shell variable name.
func isShellName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// splitNames splits a comma-separated list of names, dropping blanks, and
// lower-cases them as DNS names compare case-insensitively.
func splitNames(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(p)), ".")
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// mtaSTSWildcard is mailcow's form for "mta-sts.<every mail domain>".
const mtaSTSWildcard = "mta-sts.*"

// CoversMTASTS reports whether ADDITIONAL_SAN (the certificate) and
// ADDITIONAL_SERVER_NAMES (nginx) cover mta-sts.<d> for every domain; an
// entry "mta-sts.*" covers all of them. missing lists the domains not fully
// covered (sorted); fix holds the mailcow.conf lines that would cover them,
// each merged with what is already there (e.g. ADDITIONAL_SAN=…,mta-sts.*).
// Both are nil when everything is covered.
func (c Conf) CoversMTASTS(domains []string) (missing []string, fix []string) {
	sanOK, namesOK := true, true
	seen := map[string]bool{}
	for _, d := range domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" || seen[d] {
			continue
		}
		seen[d] = true
		host := "mta-sts." + d
		inSAN := covers(c.AdditionalSAN, host, false)
		inNames := covers(c.AdditionalServerNames, host, true)
		if !inSAN || !inNames {
			missing = append(missing, d)
		}
		sanOK = sanOK && inSAN
		namesOK = namesOK && inNames
	}
	sort.Strings(missing)
	if !sanOK {
		fix = append(fix, "ADDITIONAL_SAN="+strings.Join(append(append([]string(nil), c.AdditionalSAN...), mtaSTSWildcard), ","))
	}
	if !namesOK {
		fix = append(fix, "ADDITIONAL_SERVER_NAMES="+strings.Join(append(append([]string(nil), c.AdditionalServerNames...), mtaSTSWildcard), ","))
	}
	return missing, fix
}

// covers reports whether a list of names includes host. nginx server_name
// also accepts a leading "*." wildcard; mailcow's ACME SAN list does not
// (only its own "name.*" form), so wildcards count only when allowed.
func covers(list []string, host string, leadingWildcard bool) bool {
	for _, n := range list {
		switch {
		case n == host, n == mtaSTSWildcard:
			return true
		case leadingWildcard && strings.HasPrefix(n, "*."):
			// "*.example.com" matches exactly one more label in front.
			if rest, ok := strings.CutSuffix(host, n[1:]); ok && rest != "" && !strings.Contains(rest, ".") {
				return true
			}
		}
	}
	return false
}
