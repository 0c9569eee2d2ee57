package mailcow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// flag is a mailcow yes/no field. Depending on the version and the PDO
// settings mailcow sends "1"/"0", 1/0 or true/false, and null for a missing
// value.
type flag struct {
	set, on bool
	// other is a value that is none of those, e.g. the localised "Yes"
	// some versions send beside active_int; another field may decide.
	other string
}

// UnmarshalJSON accepts every form of flag mailcow has been seen to send.
func (f *flag) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*f = flag{}
		return nil
	}
	if unq, err := strconv.Unquote(s); err == nil && strings.HasPrefix(s, `"`) {
		s = strings.TrimSpace(unq)
		if s == "" {
			*f = flag{set: true}
			return nil
		}
	}
	switch strings.ToLower(s) {
	case "1", "true":
		*f = flag{set: true, on: true}
		return nil
	case "0", "false":
		*f = flag{set: true}
		return nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		*f = flag{set: true, on: n != 0}
		return nil
	}
	if !strings.HasPrefix(strings.TrimSpace(string(b)), `"`) {
		return fmt.Errorf("flag value %s is neither 0/1 nor true/false", clip(string(b), 40))
	}
	*f = flag{other: clip(string(b), 40)}
	return nil
}

// pick returns the first flag that was present and readable, so
// "active_int" wins over a localised "active" when both are sent. A flag
// that is nowhere readable is an error: guessing "off" would skip every
// domain as inactive if mailcow renamed a field.
func pick(field string, flags ...flag) (bool, error) {
	var seen []string
	for _, f := range flags {
		if f.set {
			return f.on, nil
		}
		if f.other != "" {
			seen = append(seen, f.other)
		}
	}
	if len(seen) > 0 {
		return false, fmt.Errorf("%s is %s, neither 0/1 nor true/false", field, strings.Join(seen, " / "))
	}
	return false, fmt.Errorf("%s is missing", field)
}

// apiErrorMessage finds mailcow's error shape in an answer: an object
// {"type":"error"|"danger","msg":...} or a list of such objects, as
// process_add_return and the edit handlers send (often with HTTP 200).
func apiErrorMessage(data []byte) (string, bool) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return "", false
	}
	var items []json.RawMessage
	switch t[0] {
	case '{':
		items = []json.RawMessage{t}
	case '[':
		if json.Unmarshal(t, &items) != nil {
			return "", false
		}
	default:
		return "", false
	}
	var msgs []string
	for _, it := range items {
		var e struct {
			Type *string         `json:"type"`
			Msg  json.RawMessage `json:"msg"`
		}
		if json.Unmarshal(it, &e) != nil || e.Type == nil {
			continue
		}
		if typ := strings.ToLower(*e.Type); typ == "error" || typ == "danger" {
			msgs = append(msgs, formatMsg(e.Msg))
		}
	}
	if len(msgs) == 0 {
		return "", false
	}
	return strings.Join(msgs, "; "), true
}

// formatMsg renders mailcow's msg field, a string or a list such as
// ["mx_invalid","mx.example.com"] (a language key and its arguments).
func formatMsg(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []any
	if json.Unmarshal(raw, &parts) == nil {
		out := make([]string, 0, len(parts))
		for _, p := range parts {
			out = append(out, fmt.Sprint(p))
		}
		return strings.Join(out, " ")
	}
	if len(raw) == 0 {
		return "(no message)"
	}
	return clip(string(raw), 200)
}

// listItems splits a "get .../all" answer into its items. mailcow sends a
// JSON list, "{}" or "[]" (or null) when there is nothing, and a bare object
// where one item is asked for; PHP arrays with gaps in their keys encode as
// objects keyed "0","1",…, so such an object is taken as a list too. isItem
// tells an item from such a keyed collection.
func listItems(data []byte, isItem func(map[string]json.RawMessage) bool) ([]json.RawMessage, error) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		// mailcow sends {} or [] when it has nothing: an empty body came
		// from something in between, and must not read as "no domains".
		return nil, errors.New("empty answer where mailcow always sends a JSON list or {}: check a proxy or PHP errors in front of the API")
	}
	if string(t) == "null" {
		return nil, nil
	}
	switch t[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return nil, fmt.Errorf("not a JSON list: %w", err)
		}
		return items, nil
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(t, &obj); err != nil {
			return nil, fmt.Errorf("not a JSON object: %w", err)
		}
		if len(obj) == 0 {
			return nil, nil
		}
		if isItem(obj) {
			return []json.RawMessage{t}, nil
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, errA := strconv.Atoi(keys[i])
			b, errB := strconv.Atoi(keys[j])
			if errA == nil && errB == nil {
				return a < b
			}
			return keys[i] < keys[j]
		})
		items := make([]json.RawMessage, 0, len(keys))
		for _, k := range keys {
			items = append(items, obj[k])
		}
		return items, nil
	}
	return nil, fmt.Errorf("expected a JSON list or object, got %q", clip(string(t), 60))
}

// wireDomain is the part of mailcow's "domain_details" we use.
type wireDomain struct {
	Name        *string `json:"domain_name"`
	Active      flag    `json:"active"`
	ActiveInt   flag    `json:"active_int"`
	BackupMX    flag    `json:"backupmx"`
	BackupMXInt flag    `json:"backupmx_int"`
	Tags        tagList `json:"tags"`
}

// tagList accepts a list of tags, null, or (from PHP) an object of them.
type tagList []string

// UnmarshalJSON accepts ["a","b"], null, "" and {"0":"a"}.
func (t *tagList) UnmarshalJSON(b []byte) error {
	s := bytes.TrimSpace(b)
	if string(s) == "null" || string(s) == `""` {
		*t = nil
		return nil
	}
	var list []string
	if err := json.Unmarshal(s, &list); err == nil {
		*t = list
		return nil
	}
	var obj map[string]string
	if err := json.Unmarshal(s, &obj); err == nil {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]string, 0, len(keys))
		for _, k := range keys {
			out = append(out, obj[k])
		}
		*t = out
		return nil
	}
	return fmt.Errorf("tags %s are not a list of strings", clip(string(s), 40))
}

// wireAliasDomain is the part of mailcow's "alias_domain_details" we use.
type wireAliasDomain struct {
	Name      *string `json:"alias_domain"`
	Target    *string `json:"target_domain"`
	Active    flag    `json:"active"`
	ActiveInt flag    `json:"active_int"`
}

// decodeDomains parses the answer of GET /api/v1/get/domain/all. Names are
// normalised; a name that does not parse is an error naming it.
func decodeDomains(data []byte) ([]Domain, error) {
	items, err := listItems(data, func(m map[string]json.RawMessage) bool { _, ok := m["domain_name"]; return ok })
	if err != nil {
		return nil, err
	}
	out := make([]Domain, 0, len(items))
	for i, it := range items {
		var w wireDomain
		if err := json.Unmarshal(it, &w); err != nil {
			return nil, fmt.Errorf("domain entry %d: %w", i, err)
		}
		if w.Name == nil {
			return nil, fmt.Errorf("domain entry %d has no domain_name: %s", i, clip(string(it), 80))
		}
		name, err := normalize(*w.Name)
		if err != nil {
			return nil, fmt.Errorf("domain %q: %w", *w.Name, err)
		}
		active, err := pick("active", w.ActiveInt, w.Active)
		if err != nil {
			return nil, fmt.Errorf("domain %s: %w", name, err)
		}
		backupMX, err := pick("backupmx", w.BackupMXInt, w.BackupMX)
		if err != nil {
			return nil, fmt.Errorf("domain %s: %w", name, err)
		}
		out = append(out, Domain{Name: name, Active: active, BackupMX: backupMX, Tags: append([]string(nil), w.Tags...)})
	}
	return out, nil
}

// decodeAliasDomains parses the answer of GET /api/v1/get/alias-domain/all.
func decodeAliasDomains(data []byte) ([]AliasDomain, error) {
	items, err := listItems(data, func(m map[string]json.RawMessage) bool { _, ok := m["alias_domain"]; return ok })
	if err != nil {
		return nil, err
	}
	out := make([]AliasDomain, 0, len(items))
	for i, it := range items {
		var w wireAliasDomain
		if err := json.Unmarshal(it, &w); err != nil {
			return nil, fmt.Errorf("alias domain entry %d: %w", i, err)
		}
		if w.Name == nil || w.Target == nil {
			return nil, fmt.Errorf("alias domain entry %d lacks alias_domain or target_domain: %s", i, clip(string(it), 80))
		}
		name, err := normalize(*w.Name)
		if err != nil {
			return nil, fmt.Errorf("alias domain %q: %w", *w.Name, err)
		}
		target, err := normalize(*w.Target)
		if err != nil {
			return nil, fmt.Errorf("alias domain %s: target domain %q: %w", name, *w.Target, err)
		}
		active, err := pick("active", w.ActiveInt, w.Active)
		if err != nil {
			return nil, fmt.Errorf("alias domain %s: %w", name, err)
		}
		out = append(out, AliasDomain{Name: name, Target: target, Active: active})
	}
	return out, nil
}
