package check

import "strings"

// selection is how a sender sorts the TXT records at `_mta-sts` or `_smtp._tls`.
type selection struct {
	// kept are the records that count towards "exactly one": those beginning
	// with "<version>;" or, only where there are none of those, the ones
	// with whitespace before the ";" ("v=STSv1 ;"), which the ABNF allows
	// though the prose prefix test discards them (RFC 8461 errata 6285); the
	// record parser warns about those.
	kept []string
	// ignored are records every sender discards.
	ignored []string
}

// selectRecords applies the RFC 8461 §3.1 / RFC 8460 §3 prefix rule for
// version ("v=STSv1" or "v=TLSRPTv1"). The comparison is case-sensitive, as
// the ABNF's %s strings are.
func selectRecords(txts []string, version string) selection {
	var s selection
	var spaced []string
	for _, t := range txts {
		switch {
		case strings.HasPrefix(t, version+";"):
			s.kept = append(s.kept, t)
		case hasSpacedPrefix(t, version):
			spaced = append(spaced, t)
		default:
			s.ignored = append(s.ignored, t)
		}
	}
	// Senders keep a spaced record only where their parser follows the
	// ABNF; beside a record every sender keeps, it never makes two.
	if len(s.kept) > 0 {
		s.ignored = append(s.ignored, spaced...)
	} else {
		s.kept = spaced
	}
	return s
}

// hasSpacedPrefix reports whether t is version, then at least one WSP, then ";".
func hasSpacedPrefix(t, version string) bool {
	rest, ok := strings.CutPrefix(t, version)
	if !ok {
		return false
	}
	trimmed := strings.TrimLeft(rest, " \t")
	return len(trimmed) < len(rest) && strings.HasPrefix(trimmed, ";")
}
