package mtasts

import (
	"fmt"
	"net/url"
	"strings"
)

// ValidateRUA reports whether uri may appear in the rua field of a TLSRPT
// record (RFC 8460 §3): a mailto: URI with one addr-spec or an https: URI with
// a host; the scheme is matched case-insensitively. The characters ',', '!'
// and ';' must be percent-encoded because they delimit the record.
func ValidateRUA(uri string) error {
	if uri == "" {
		return fmt.Errorf("report URI is empty: use mailto:address or https://host/path")
	}
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		switch {
		case c == ',' || c == '!' || c == ';':
			return fmt.Errorf("report URI %q contains a raw %q: percent-encode it as %%%02X", uri, c, c)
		case c <= ' ' || c >= 0x7f:
			return fmt.Errorf("report URI %q contains %q: percent-encode spaces, control and non-ASCII characters", uri, c)
		case c == '%' && (i+2 >= len(uri) || !isHex(uri[i+1]) || !isHex(uri[i+2])):
			return fmt.Errorf("report URI %q has a '%%' at byte %d that is not followed by two hex digits: write a literal %% as %%25", uri, i)
		}
	}
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return fmt.Errorf("report URI %q has no scheme: use mailto: or https:", uri)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Errorf("report URI %q does not parse: %w", uri, err)
	}
	switch strings.ToLower(scheme) {
	case "mailto":
		return validateMailtoRUA(uri, rest)
	case "https":
		if u.Opaque != "" || !strings.HasPrefix(rest, "//") {
			return fmt.Errorf("report URI %q: write https URIs as https://host/path", uri)
		}
		if u.Hostname() == "" {
			return fmt.Errorf("report URI %q has no host: write https://host/path", uri)
		}
		return nil
	default:
		return fmt.Errorf("report URI %q uses scheme %q: use mailto: or https:", uri, scheme)
	}
}

// validateMailtoRUA checks the part after "mailto:": one addr-spec with a
// local part and a domain name, optionally followed by "?hfields".
func validateMailtoRUA(uri, rest string) error {
	if strings.HasPrefix(rest, "//") {
		return fmt.Errorf("report URI %q: mailto takes no \"//\": write mailto:user@example.com", uri)
	}
	addr, _, _ := strings.Cut(rest, "?")
	if strings.Count(addr, "@") != 1 {
		return fmt.Errorf("report URI %q must hold exactly one address with one '@' (like mailto:tls-reports@example.com)", uri)
	}
	local, domain, _ := strings.Cut(addr, "@")
	if local == "" {
		return fmt.Errorf("report URI %q has an empty local part before '@'", uri)
	}
	if err := validateHostname(domain, 2); err != nil {
		return fmt.Errorf("report URI %q: address domain %q: %w", uri, domain, err)
	}
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
