package providers

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/libdns/cloudflare"
	"github.com/libdns/desec"
	"github.com/libdns/hetzner/v2"
	"github.com/libdns/libdns"
	"github.com/libdns/rfc2136"
	"github.com/libdns/route53"
	"github.com/mtasts-sync/mtasts-sync/internal/credhttp"
	"github.com/mtasts-sync/mtasts-sync/providers/zonefile"
)

func buildCloudflare(_ context.Context, s map[string]string, o Options) (Client, error) {
	transport := o.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	// The token never follows a redirect to another origin.
	hc := credhttp.Client(&http.Client{Transport: &retryTransport{m: o.meter, base: &meteredTransport{m: o.meter, base: transport}}})
	return &cloudflareZones{
		newClient: func() *cloudflare.Provider {
			return &cloudflare.Provider{APIToken: s["api_token"], ZoneToken: s["zone_token"], HTTPClient: hc}
		},
		byZone: map[string]*cloudflare.Provider{},
		http:   hc,
		token:  s["api_token"],
		tlsa:   &cfTLSA{hc: hc, apiToken: s["api_token"], zoneToken: s["zone_token"]},
	}, nil
}

// cloudflareZones gives every zone a client of its own, all sharing one
// metered HTTP client. The pinned client holds a single lock across its
// zone lookup request, which would line every zone of the account up
// behind one request's latency.
type cloudflareZones struct {
	newClient func() *cloudflare.Provider
	mu        sync.Mutex
	byZone    map[string]*cloudflare.Provider
	// http and token list the zones page by page: the pinned client's
	// ListZones reads only the first page of GET /zones.
	http  *http.Client
	token string
	// tlsa writes TLSA records, which the client cannot (see cfTLSA).
	tlsa *cfTLSA
}

func (c *cloudflareZones) zone(name string) *cloudflare.Provider {
	key := strings.ToLower(strings.TrimSuffix(name, "."))
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.byZone[key]
	if !ok {
		p = c.newClient()
		c.byZone[key] = p
	}
	return p
}

func (c *cloudflareZones) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	return c.zone(zone).GetRecords(ctx, zone)
}

func (c *cloudflareZones) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return c.split(ctx, zone, recs, c.tlsa.Append, c.zone(zone).AppendRecords)
}

func (c *cloudflareZones) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return c.split(ctx, zone, recs, c.tlsa.Set, c.zone(zone).SetRecords)
}

func (c *cloudflareZones) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	return c.split(ctx, zone, recs, c.tlsa.Delete, c.zone(zone).DeleteRecords)
}

// split hands TLSA records to tlsa and the others to the client.
func (c *cloudflareZones) split(ctx context.Context, zone string, recs []libdns.Record,
	tlsa func(context.Context, string, []libdns.RR) ([]libdns.Record, error),
	other func(context.Context, string, []libdns.Record) ([]libdns.Record, error)) ([]libdns.Record, error) {
	t, rest := splitTLSA(recs)
	var done []libdns.Record
	if len(rest) > 0 {
		out, err := other(ctx, zone, rest)
		done = append(done, out...)
		if err != nil {
			return done, err
		}
	}
	if len(t) > 0 {
		out, err := tlsa(ctx, zone, t)
		done = append(done, out...)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// ListZones reads every page of GET /zones (the client itself reads only
// the first), following result_info as the API documents it.
func (c *cloudflareZones) ListZones(ctx context.Context) ([]libdns.Zone, error) {
	var zones []libdns.Zone
	for page, pages := 1, 1; page <= pages; page++ {
		got, info, err := c.zonesPage(ctx, page)
		if err != nil {
			return nil, err
		}
		for _, z := range got {
			zones = append(zones, libdns.Zone{Name: z.Name + "."})
		}
		if info == nil || len(got) == 0 {
			break
		}
		pages = info.TotalPages
		if pages == 0 && info.PerPage > 0 {
			pages = (info.TotalCount + info.PerPage - 1) / info.PerPage
		}
		if pages > cloudflareMaxZonePages {
			return nil, fmt.Errorf("GET /zones: %d pages of zones; more than %d is not an account this tool can list: map the zones under zones:", pages, cloudflareMaxZonePages)
		}
	}
	return zones, nil
}

// cloudflareAPI is the pinned client's base URL; tests reach the fake
// through the transport, as they do for the client's own requests.
const cloudflareAPI = "https://api.cloudflare.com/client/v4"

// cloudflareZonesPerPage is the most GET /zones returns per page.
const cloudflareZonesPerPage = 50

// cloudflareMaxZonePages bounds the listing, so an answer that never
// ends cannot loop: 50,000 zones.
const cloudflareMaxZonePages = 1000

// cfResultInfo is the paging block of a Cloudflare list answer.
type cfResultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// zonesPage reads one page of GET /zones.
func (c *cloudflareZones) zonesPage(ctx context.Context, page int) ([]struct{ Name string }, *cfResultInfo, error) {
	q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(cloudflareZonesPerPage)}}
	var zones []struct{ Name string }
	var info *cfResultInfo
	if err := cfDo(ctx, c.http, fmt.Sprintf("GET /zones page %d", page), http.MethodGet, "/zones?"+q.Encode(), c.token, nil, &zones, &info); err != nil {
		return nil, nil, err
	}
	return zones, info, nil
}

// proxied reports whether any record at name (a FQDN, with or without the
// trailing dot) in zone is proxied by Cloudflare (the orange cloud). The
// client reads the flag but drops it, so this asks the API itself.
func (c *cloudflareZones) proxied(ctx context.Context, zone, name string) (bool, error) {
	id, err := c.tlsa.zoneID(ctx, strings.TrimSuffix(zone, "."))
	if err != nil {
		return false, err
	}
	var recs []struct {
		Proxied bool `json:"proxied"`
	}
	q := url.Values{"name": {strings.TrimSuffix(name, ".")}}
	if err := cfDo(ctx, c.http, "", http.MethodGet, "/zones/"+url.PathEscape(id)+"/dns_records?"+q.Encode(), c.token, nil, &recs, nil); err != nil {
		return false, err
	}
	for _, r := range recs {
		if r.Proxied {
			return true, nil
		}
	}
	return false, nil
}

// buildHetzner needs a token: the client panics without one, inside a
// sync.Once, on its first call.
func buildHetzner(_ context.Context, s map[string]string, _ Options) (Client, error) {
	if strings.TrimSpace(s["api_token"]) == "" {
		return nil, errors.New("api_token is empty: create a Hetzner Cloud API token (Read & Write) in the project that holds the zones")
	}
	return hetzner.New(s["api_token"]), nil
}

// buildRoute53 loads the AWS config the way the client will, first: the
// client calls log.Fatalf (ending the process) when loading fails.
func buildRoute53(ctx context.Context, s map[string]string, _ Options) (Client, error) {
	id, secret := s["access_key_id"], s["secret_access_key"]
	if (id == "") != (secret == "") {
		return nil, errors.New("access_key_id and secret_access_key go together: give both, or neither to use the AWS credential chain")
	}
	var opts []func(*awsconfig.LoadOptions) error
	if s["profile"] != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(s["profile"]))
	}
	if s["region"] != "" {
		opts = append(opts, awsconfig.WithRegion(s["region"]))
	}
	if id != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, s["session_token"])))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS config: %w", err)
	}
	_ = cfg
	return &route53.Provider{
		AccessKeyId:     id,
		SecretAccessKey: secret,
		SessionToken:    s["session_token"],
		Region:          s["region"],
		Profile:         s["profile"],
		HostedZoneID:    s["hosted_zone_id"],
		// Set here because the client sets a nil Logger on every call,
		// unsynchronised: a data race between zones read at once.
		Logger: slog.New(slog.DiscardHandler),
	}, nil
}

var tsigAlgorithms = map[string]bool{"hmac-sha1": true, "hmac-sha224": true, "hmac-sha256": true, "hmac-sha384": true, "hmac-sha512": true}

// tsigAlgorithm is the algorithm key_alg names; "" is hmac-sha256.
func tsigAlgorithm(name string) string {
	alg := strings.ToLower(strings.TrimSuffix(name, "."))
	if alg == "" {
		return "hmac-sha256"
	}
	return alg
}

// The checks of rfc2136 settings: their errors never quote the value.

func checkHostPort(v string) error {
	if _, _, err := net.SplitHostPort(v); err != nil {
		return errors.New("is not host:port; write e.g. 192.0.2.53:53")
	}
	return nil
}

func checkTSIGAlgorithm(v string) error {
	if !tsigAlgorithms[tsigAlgorithm(v)] {
		return errors.New("is not a TSIG algorithm; use one of hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224, hmac-sha1")
	}
	return nil
}

func checkBase64(v string) error {
	if _, err := base64.StdEncoding.DecodeString(v); err != nil {
		return errors.New("is not valid base64: give the secret of the TSIG key as in named.conf or tsig-keygen output")
	}
	return nil
}

func buildRFC2136(_ context.Context, s map[string]string, _ Options) (Client, error) {
	for _, c := range []struct {
		key   string
		check func(string) error
	}{{"server", checkHostPort}, {"key_alg", checkTSIGAlgorithm}, {"key", checkBase64}} {
		if err := c.check(s[c.key]); err != nil {
			return nil, fmt.Errorf("%s %w", c.key, err)
		}
	}
	return &rfc2136.Provider{Server: s["server"], KeyName: s["key_name"], KeyAlg: tsigAlgorithm(s["key_alg"]), Key: s["key"]}, nil
}

// explainRFC2136: BIND answers NOTAUTH for a zone it is not primary for,
// and the client reports it like a bad TSIG signature.
func explainRFC2136(zone string, err error) error {
	if strings.Contains(err.Error(), "bad authentication") || strings.Contains(err.Error(), "NOTAUTH") {
		return fmt.Errorf("%w (the server is not authoritative for zone %s, or the TSIG key is wrong)", err, zone)
	}
	// BIND refuses an update its update-policy or allow-update does not grant.
	if strings.Contains(err.Error(), `"REFUSED"`) {
		return fmt.Errorf("%w (the server refused the change in zone %s: grant the TSIG key the _mta-sts, mta-sts and _smtp._tls names of every mail domain in update-policy, TXT and CNAME, and with dane: the _25._tcp names of the hosts, TLSA and TXT)", err, zone)
	}
	return err
}

func buildDesec(_ context.Context, s map[string]string, _ Options) (Client, error) {
	return &desec.Provider{Token: s["token"]}, nil
}

func buildZonefile(_ context.Context, s map[string]string, o Options) (Client, error) {
	dir := s["directory"]
	if !filepath.IsAbs(dir) && o.BaseDir != "" {
		dir = filepath.Join(o.BaseDir, dir)
	}
	return zonefileClient{zonefile.New(dir)}, nil
}

// zonefileClient lets the zonefile provider batch one zone's writes.
type zonefileClient struct{ *zonefile.Provider }

func (c zonefileClient) Begin(ctx context.Context, zone string) (batchClient, error) {
	e, err := c.Provider.Begin(ctx, zone)
	if err != nil {
		return nil, err
	}
	return e, nil
}
