package route53fake

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// xmlns is the namespace every Route53 response carries.
const xmlns = "https://route53.amazonaws.com/doc/2013-04-01/"

// changeRequest is the body of ChangeResourceRecordSets. encoding/xml matches
// local names in any namespace, so the SDK's namespaced body parses as is.
type changeRequest struct {
	XMLName     xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch struct {
		Comment string       `xml:"Comment"`
		Changes []wireChange `xml:"Changes>Change"`
	} `xml:"ChangeBatch"`
}

type wireChange struct {
	Action string  `xml:"Action"`
	Set    wireSet `xml:"ResourceRecordSet"`
}

type wireSet struct {
	Name          string       `xml:"Name"`
	Type          string       `xml:"Type"`
	TTL           *int64       `xml:"TTL"`
	SetIdentifier string       `xml:"SetIdentifier,omitempty"`
	Records       []wireRecord `xml:"ResourceRecords>ResourceRecord"`
	AliasTarget   *struct {
		DNSName string `xml:"DNSName"`
	} `xml:"AliasTarget,omitempty"`
}

type wireRecord struct {
	Value string `xml:"Value"`
}

type listRRSetsResponse struct {
	XMLName        xml.Name  `xml:"ListResourceRecordSetsResponse"`
	Xmlns          string    `xml:"xmlns,attr"`
	Sets           []wireSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated    bool      `xml:"IsTruncated"`
	NextRecordName string    `xml:"NextRecordName,omitempty"`
	NextRecordType string    `xml:"NextRecordType,omitempty"`
	MaxItems       int       `xml:"MaxItems"`
}

type wireZone struct {
	ID              string `xml:"Id"`
	Name            string `xml:"Name"`
	CallerReference string `xml:"CallerReference"`
	Config          struct {
		PrivateZone bool `xml:"PrivateZone"`
	} `xml:"Config"`
	ResourceRecordSetCount int `xml:"ResourceRecordSetCount"`
}

type listZonesByNameResponse struct {
	XMLName          xml.Name   `xml:"ListHostedZonesByNameResponse"`
	Xmlns            string     `xml:"xmlns,attr"`
	HostedZones      []wireZone `xml:"HostedZones>HostedZone"`
	DNSName          string     `xml:"DNSName,omitempty"`
	IsTruncated      bool       `xml:"IsTruncated"`
	NextDNSName      string     `xml:"NextDNSName,omitempty"`
	NextHostedZoneID string     `xml:"NextHostedZoneId,omitempty"`
	MaxItems         int        `xml:"MaxItems"`
}

type changeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

type changeResponse struct {
	XMLName    xml.Name   `xml:"ChangeResourceRecordSetsResponse"`
	Xmlns      string     `xml:"xmlns,attr"`
	ChangeInfo changeInfo `xml:"ChangeInfo"`
}

type getChangeResponse struct {
	XMLName    xml.Name   `xml:"GetChangeResponse"`
	Xmlns      string     `xml:"xmlns,attr"`
	ChangeInfo changeInfo `xml:"ChangeInfo"`
}

type errorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// quoteTXT renders one character-string the way Route53 shows it: quoted,
// `"` and `\` backslash-escaped, everything outside printable ASCII as a
// three-digit octal escape.
func quoteTXT(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 32 || c >= 127:
			fmt.Fprintf(&b, "\\%03o", c)
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// parseTXT splits a Route53 TXT value into its character-strings: quoted
// strings or bare words, with `\X` and octal `\ooo` escapes.
func parseTXT(v string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		if i >= len(v) {
			break
		}
		quoted := v[i] == '"'
		if quoted {
			i++
		}
		var b strings.Builder
		closed := false
		for i < len(v) {
			c := v[i]
			if quoted && c == '"' {
				i++
				closed = true
				break
			}
			if !quoted && (c == ' ' || c == '\t') {
				break
			}
			if c == '\\' {
				if i+3 < len(v) && isOctal(v[i+1]) && isOctal(v[i+2]) && isOctal(v[i+3]) {
					n, err := strconv.ParseUint(v[i+1:i+4], 8, 8)
					if err != nil {
						return nil, fmt.Errorf("octal escape %q out of range", v[i:i+4])
					}
					b.WriteByte(byte(n))
					i += 4
					continue
				}
				if i+1 >= len(v) {
					return nil, fmt.Errorf("dangling backslash")
				}
				b.WriteByte(v[i+1])
				i += 2
				continue
			}
			b.WriteByte(c)
			i++
		}
		if quoted && !closed {
			return nil, fmt.Errorf("unterminated quoted string")
		}
		out = append(out, b.String())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty TXT value")
	}
	return out, nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// renderTXT is the canonical Route53 form of a TXT value.
func renderTXT(strs []string) string {
	parts := make([]string, len(strs))
	for i, s := range strs {
		parts[i] = quoteTXT(s)
	}
	return strings.Join(parts, " ")
}

// canonicalName lowercases name, decodes Route53's octal escapes and adds
// the trailing dot: the form the fake keys records by.
func canonicalName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '\\' && i+3 < len(name) && isOctal(name[i+1]) && isOctal(name[i+2]) && isOctal(name[i+3]) {
			if n, err := strconv.ParseUint(name[i+1:i+4], 8, 8); err == nil {
				c = byte(n)
				i += 3
			}
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	s := b.String()
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// wireName is how Route53 returns a name: every character other than a-z,
// 0-9, hyphen, underscore and the label dots as an octal escape (so `*`
// comes back as `\052`).
func wireName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	return b.String()
}

// sortKey orders names as ListResourceRecordSets does: by the name with its
// labels reversed, trailing dot included, as Route53 spells it.
func sortKey(name string) string {
	w := strings.TrimSuffix(wireName(name), ".")
	labels := strings.Split(w, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".") + "."
}
