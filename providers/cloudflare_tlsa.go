package providers

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/libdns/libdns"

	"github.com/mtasts-sync/mtasts-sync/internal/dane"
)

// cfTLSA writes Cloudflare TLSA records itself. libdns/cloudflare v0.2.2
// sends every record as a content string, and its model has usage,
// selector and matching_type but no certificate field; Cloudflare's API
// requires TLSA as structured data {usage, selector, matching_type,
// certificate} and rejects content alone, so no TLSA create from the
// client can succeed. Reading TLSA through the client works (Cloudflare
// returns the derived content "3 1 1 <hex>"); creating and deleting go
// through here, with the client's own HTTP client, base URL and tokens.
type cfTLSA struct {
	hc                  *http.Client
	apiToken, zoneToken string

	mu  sync.Mutex
	ids map[string]string // zone name (no dot) -> zone id
}

// cfDo sends one request to Cloudflare's API (the client's base URL) with
// token, and decodes the answer's result (and paging, when info is given).
// Any status of 400 or more, or errors in the answer, is an error naming
// the request (what, or method and path) and Cloudflare's codes and
// messages.
func cfDo(ctx context.Context, hc *http.Client, what, method, path, token string, body, result any, info **cfResultInfo) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, cloudflareAPI+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if what == "" {
		what = method + " " + strings.SplitN(path, "?", 2)[0]
	}
	var answer struct {
		Success bool `json:"success"`
		Errors  []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
		Result     json.RawMessage `json:"result"`
		ResultInfo *cfResultInfo   `json:"result_info"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&answer); err != nil {
		return fmt.Errorf("%s: HTTP %d: reading the answer: %w", what, resp.StatusCode, err)
	}
	if resp.StatusCode >= 400 || len(answer.Errors) > 0 || !answer.Success {
		msgs := make([]string, 0, len(answer.Errors))
		for _, e := range answer.Errors {
			msgs = append(msgs, fmt.Sprintf("%d %s", e.Code, e.Message))
		}
		return fmt.Errorf("%s: HTTP %d: %s", what, resp.StatusCode, strings.Join(msgs, "; "))
	}
	if info != nil {
		*info = answer.ResultInfo
	}
	if result != nil && len(answer.Result) > 0 {
		return json.Unmarshal(answer.Result, result)
	}
	return nil
}

func (c *cfTLSA) do(ctx context.Context, method, path, token string, body, result any) error {
	return cfDo(ctx, c.hc, "", method, path, token, body, result, nil)
}

func (c *cfTLSA) zoneID(ctx context.Context, zone string) (string, error) {
	key := strings.ToLower(strings.TrimSuffix(zone, "."))
	c.mu.Lock()
	id, ok := c.ids[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	token := c.apiToken
	if c.zoneToken != "" {
		token = c.zoneToken
	}
	var zones []struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodGet, "/zones?"+url.Values{"name": {zone}}.Encode(), token, nil, &zones); err != nil {
		return "", err
	}
	if len(zones) != 1 {
		return "", fmt.Errorf("expected 1 zone, got %d for %s", len(zones), zone)
	}
	c.mu.Lock()
	if c.ids == nil {
		c.ids = map[string]string{}
	}
	c.ids[key] = zones[0].ID
	c.mu.Unlock()
	return zones[0].ID, nil
}

type cfTLSARecord struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type"`
	Name string `json:"name"`
	TTL  int    `json:"ttl,omitempty"`
	Data struct {
		Usage        int    `json:"usage"`
		Selector     int    `json:"selector"`
		MatchingType int    `json:"matching_type"`
		Certificate  string `json:"certificate"`
	} `json:"data"`
}

func (r cfTLSARecord) value() string {
	v := fmt.Sprintf("%d %d %d %s", r.Data.Usage, r.Data.Selector, r.Data.MatchingType, r.Data.Certificate)
	c, _ := dane.Canonical(v)
	return c
}

// at lists the TLSA records at the absolute name fqdn (no trailing dot).
func (c *cfTLSA) at(ctx context.Context, zoneID, fqdn string) ([]cfTLSARecord, error) {
	q := url.Values{"type": {"TLSA"}, "name": {fqdn}, "per_page": {"100"}}
	var recs []cfTLSARecord
	err := c.do(ctx, http.MethodGet, "/zones/"+zoneID+"/dns_records?"+q.Encode(), c.apiToken, nil, &recs)
	return recs, err
}

// split separates TLSA records from the others.
func splitTLSA(recs []libdns.Record) (tlsa []libdns.RR, rest []libdns.Record) {
	for _, r := range recs {
		if rr := r.RR(); strings.EqualFold(rr.Type, "TLSA") {
			tlsa = append(tlsa, rr)
		} else {
			rest = append(rest, r)
		}
	}
	return tlsa, rest
}

func absName(rr libdns.RR, zone string) string {
	return strings.TrimSuffix(strings.ToLower(libdns.AbsoluteName(rr.Name, zone)), ".")
}

// create adds one TLSA record in Cloudflare's structured form.
func (c *cfTLSA) create(ctx context.Context, zone, zoneID string, rr libdns.RR) error {
	r, err := dane.Parse(rr.Data)
	if err != nil {
		return err
	}
	in := cfTLSARecord{Type: "TLSA", Name: absName(rr, zone), TTL: int(rr.TTL.Seconds())}
	in.Data.Usage, in.Data.Selector, in.Data.MatchingType = int(r.Usage), int(r.Selector), int(r.MatchingType)
	in.Data.Certificate = hex.EncodeToString(r.Data)
	return c.do(ctx, http.MethodPost, "/zones/"+zoneID+"/dns_records", c.apiToken, in, nil)
}

// Append creates each TLSA record.
func (c *cfTLSA) Append(ctx context.Context, zone string, recs []libdns.RR) ([]libdns.Record, error) {
	zoneID, err := c.zoneID(ctx, zone)
	if err != nil {
		return nil, err
	}
	var done []libdns.Record
	for _, rr := range recs {
		if err := c.create(ctx, zone, zoneID, rr); err != nil {
			return done, err
		}
		done = append(done, rr)
	}
	return done, nil
}

// Delete removes the TLSA records whose data equals one of recs' (in
// canonical form: hex case and spacing do not matter).
func (c *cfTLSA) Delete(ctx context.Context, zone string, recs []libdns.RR) ([]libdns.Record, error) {
	return c.replace(ctx, zone, recs, nil)
}

// Set makes each name's TLSA RRset hold exactly recs' records there.
func (c *cfTLSA) Set(ctx context.Context, zone string, recs []libdns.RR) ([]libdns.Record, error) {
	return c.replace(ctx, zone, nil, recs)
}

// replace deletes, per name, the listed records of del (nil: every record
// not in want) and creates what want lacks.
func (c *cfTLSA) replace(ctx context.Context, zone string, del, want []libdns.RR) ([]libdns.Record, error) {
	zoneID, err := c.zoneID(ctx, zone)
	if err != nil {
		return nil, err
	}
	byName := map[string][2][]libdns.RR{}
	var names []string
	for i, set := range [][]libdns.RR{del, want} {
		for _, rr := range set {
			n := absName(rr, zone)
			e, ok := byName[n]
			if !ok {
				names = append(names, n)
			}
			e[i] = append(e[i], rr)
			byName[n] = e
		}
	}
	var changed []libdns.Record
	for _, name := range names {
		e := byName[name]
		live, err := c.at(ctx, zoneID, name)
		if err != nil {
			return changed, err
		}
		drop, keep := valueSet(e[0]), valueSet(e[1])
		have := map[string]bool{}
		for _, r := range live {
			v := r.value()
			if (del != nil && drop[v]) || (del == nil && !keep[v]) {
				if err := c.do(ctx, http.MethodDelete, "/zones/"+zoneID+"/dns_records/"+r.ID, c.apiToken, nil, nil); err != nil {
					return changed, err
				}
				changed = append(changed, libdns.RR{Name: libdns.RelativeName(name+".", zone), Type: "TLSA", Data: v})
				continue
			}
			have[v] = true
		}
		for _, rr := range e[1] {
			v, _ := dane.Canonical(rr.Data)
			if have[v] {
				continue
			}
			if err := c.create(ctx, zone, zoneID, rr); err != nil {
				return changed, err
			}
			changed = append(changed, rr)
		}
	}
	return changed, nil
}

func valueSet(rrs []libdns.RR) map[string]bool {
	out := map[string]bool{}
	for _, rr := range rrs {
		v, _ := dane.Canonical(rr.Data)
		out[v] = true
	}
	return out
}
