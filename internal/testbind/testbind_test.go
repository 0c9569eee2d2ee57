package testbind

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/libdns/libdns"
	"github.com/miekg/dns"
)

const zone = "example.test."

// Lines every zone started with no SOA/NS of its own contains, as Dump
// shows them (serial zeroed).
var baseLines = []string{
	"example.test.\t3600\tIN\tNS\tns1.example.test.",
	"example.test.\t3600\tIN\tSOA\tns1.example.test. hostmaster.example.test. 0 3600 600 86400 60",
	"ns1.example.test.\t3600\tIN\tA\t127.0.0.1",
}

func withBase(lines ...string) []string {
	out := append(slices.Clone(baseLines), lines...)
	slices.Sort(out)
	return out
}

func dump(t *testing.T, s *Server) []string {
	t.Helper()
	lines, err := s.Dump(t.Context(), zone)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	return lines
}

func txt(name, data string) libdns.RR {
	return libdns.RR{Name: name, Type: "TXT", TTL: 300 * time.Second, Data: data}
}

func TestStartServesZone(t *testing.T) {
	start := time.Now()
	s := Start(t, Zone{Name: "example.test", Records: []string{
		`_smtp._tls.example.test. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@example.test"`,
		"www 300 IN A 192.0.2.1",
	}})
	// Not an assertion (no timed unit tests); BenchmarkStart measures it.
	t.Logf("named started in %v on %s", time.Since(start), s.Addr)

	if s.KeyName != "mtasts-test." || s.KeyAlg != "hmac-sha256" || s.Secret == "" {
		t.Errorf("key = %q %q %q, want mtasts-test. hmac-sha256 and a secret", s.KeyName, s.KeyAlg, s.Secret)
	}
	if host, _, err := net.SplitHostPort(s.Addr); err != nil || host != "127.0.0.1" {
		t.Errorf("Addr = %q, want 127.0.0.1:PORT", s.Addr)
	}
	want := withBase(
		"_smtp._tls.example.test.\t300\tIN\tTXT\t\"v=TLSRPTv1; rua=mailto:tls@example.test\"",
		"www.example.test.\t300\tIN\tA\t192.0.2.1",
	)
	if diff := cmp.Diff(want, dump(t, s)); diff != "" {
		t.Errorf("Dump (-want +got):\n%s", diff)
	}

	// The server answers plain UDP queries on the same port too.
	q := new(dns.Msg)
	q.SetQuestion("www.example.test.", dns.TypeA)
	in, _, err := (&dns.Client{Net: "udp"}).ExchangeContext(t.Context(), q, s.Addr)
	if err != nil {
		t.Fatalf("UDP query: %v", err)
	}
	if !in.Authoritative || len(in.Answer) != 1 || in.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Errorf("UDP answer = %v, want authoritative www A 192.0.2.1", in)
	}
}

func TestStartReportsZoneBINDRejects(t *testing.T) {
	named := findNamed()
	if named == "" {
		startWith(t, "", nil) // skips, or fails under CI=true
	}
	// A CNAME at the apex beside the SOA: miekg accepts it, BIND does not.
	_, err := start(t.Context(), named, t.TempDir(), []Zone{{Name: "example.test", Records: []string{"@ IN CNAME example.net."}}})
	if err == nil {
		t.Fatal("start() = nil error for a zone BIND cannot load")
	}
	for _, want := range []string{"zone example.test did not load", "named log", "CNAME and other data"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start() error lacks %q:\n%v", want, err)
		}
	}
}

func TestStartRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		zones   []Zone
		wantErr string
	}{
		{"no zones", nil, "no zones given"},
		{"zone twice", []Zone{{Name: "example.test"}, {Name: "EXAMPLE.test."}}, "zone example.test given twice"},
		{"bad record", []Zone{{Name: "example.test", Records: []string{"www IN A x"}}}, `zone example.test.: record 1 "www IN A x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The binary is never run: input is checked first.
			_, err := start(t.Context(), "/nonexistent/named", t.TempDir(), tt.zones)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("start() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// fakeTB records Skip and Fatal instead of acting on them; embedding
// testing.TB satisfies its unexported method.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()          {}
func (f *fakeTB) Skip(args ...any) { f.skipped = strings.TrimSpace(sprint(args)); runtime.Goexit() }
func (f *fakeTB) Fatal(args ...any) {
	f.failed = strings.TrimSpace(sprint(args))
	runtime.Goexit()
}

func sprint(args []any) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteString(a.(string))
	}
	return b.String()
}

func TestMissingNamed(t *testing.T) {
	tests := []struct {
		ci         string
		wantSkip   bool
		wantSubstr string
	}{
		{ci: "", wantSkip: true, wantSubstr: "apt-get install bind9"},
		{ci: "false", wantSkip: true, wantSubstr: "apt-get install bind9"},
		{ci: "true", wantSkip: false, wantSubstr: "CI=true"},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			f := &fakeTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				startWith(f, "", []Zone{{Name: "example.test"}})
			}()
			<-done
			got := f.failed
			if tt.wantSkip {
				got = f.skipped
			}
			if !strings.Contains(got, tt.wantSubstr) || (f.skipped != "") == (f.failed != "") {
				t.Errorf("skipped %q, failed %q; want skip=%v with %q", f.skipped, f.failed, tt.wantSkip, tt.wantSubstr)
			}
		})
	}
}

func TestGetRecordsReadsWholeZoneWithSOATwice(t *testing.T) {
	s := Start(t, Zone{Name: "example.test", Records: []string{
		"mta-sts.example.test. 300 IN CNAME mail.example.net.",
		`_mta-sts.example.test. 300 IN TXT "v=STSv1; id=20240101"`,
	}})
	recs, err := s.Provider().GetRecords(t.Context(), zone)
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	var got []string
	for _, r := range recs {
		rr := r.RR()
		got = append(got, rr.Type+" "+rr.Name+" "+rr.Data)
	}
	// AXFR order: SOA, the zone, SOA again — the client passes both SOAs on.
	want := []string{
		"SOA @ ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60",
		"NS @ ns1.example.test.",
		"TXT _mta-sts v=STSv1; id=20240101",
		"A ns1 127.0.0.1",
		"CNAME mta-sts mail.example.net.",
		"SOA @ ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60",
	}
	if got[0] != want[0] || got[len(got)-1] != want[len(want)-1] {
		t.Errorf("GetRecords first/last = %q/%q, want the SOA both times", got[0], got[len(got)-1])
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetRecords (-want +got):\n%s", diff)
	}
	if cn, ok := recs[slices.IndexFunc(recs, func(r libdns.Record) bool { return r.RR().Type == "CNAME" })].(libdns.CNAME); !ok || cn.Target != "mail.example.net." {
		t.Errorf("CNAME parsed as %#v, want libdns.CNAME with an absolute target", cn)
	}
}

// TestTXTRoundTrip pins what the unmodified client writes for a TXT value
// and what GetRecords gives back: the value in miekg presentation form,
// escapes not undone, character-strings joined with nothing between.
func TestTXTRoundTrip(t *testing.T) {
	long := strings.Repeat("a", 300)
	longUTF8 := strings.Repeat("é", 200) // 400 bytes in one 255-rune chunk
	tests := []struct {
		name, data string
		wantGet    string // Data from GetRecords
		wantDump   string // the zone line after the owner, TTL, class and type
	}{
		{"sts", "v=STSv1; id=20240101", "v=STSv1; id=20240101", `"v=STSv1; id=20240101"`},
		{"quotes", `say "hi"`, `say \"hi\"`, `"say \"hi\""`},
		{"backslash", `back\slash`, `back\\slash`, `"back\\slash"`},
		{"utf8", "café", `caf\195\169`, `"caf\195\169"`},
		{"semicolon", "a;b", "a;b", `"a;b"`},
		// Chunked every 255 characters on write; joined without a space on read.
		{"long", long, long, `"` + long[:255] + `" "` + long[255:] + `"`},
		// miekg splits the 400-byte string at 255 bytes, inside an é.
		{"longutf8", longUTF8, strings.Repeat(`\195\169`, 200),
			`"` + strings.Repeat(`\195\169`, 127) + `\195" "\169` + strings.Repeat(`\195\169`, 72) + `"`},
		// Go %q writes a tab as \t, which the zone parser reads as "t": data loss.
		{"tab", "tab\there", "tabthere", `"tabthere"`},
	}
	s := Start(t, Zone{Name: "example.test"})
	p := s.Provider()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := p.AppendRecords(t.Context(), zone, []libdns.Record{txt(tt.name, tt.data)}); err != nil {
				t.Fatalf("AppendRecords: %v", err)
			}
			recs, err := p.GetRecords(t.Context(), zone)
			if err != nil {
				t.Fatalf("GetRecords: %v", err)
			}
			i := slices.IndexFunc(recs, func(r libdns.Record) bool { return r.RR().Name == tt.name })
			if i < 0 {
				t.Fatalf("GetRecords has no record at %s", tt.name)
			}
			if got := recs[i].RR().Data; got != tt.wantGet {
				t.Errorf("GetRecords Data = %q, want %q", got, tt.wantGet)
			}
			if tx, ok := recs[i].(libdns.TXT); !ok || tx.Text != tt.wantGet {
				t.Errorf("GetRecords record = %#v, want libdns.TXT with the same text", recs[i])
			}
			wantLine := tt.name + ".example.test.\t300\tIN\tTXT\t" + tt.wantDump
			if !slices.Contains(dump(t, s), wantLine) {
				t.Errorf("zone lacks %q:\n%s", wantLine, strings.Join(dump(t, s), "\n"))
			}
		})
	}
}

func TestAppendCNAME(t *testing.T) {
	s := Start(t, Zone{Name: "example.test"})
	recs := []libdns.Record{
		libdns.CNAME{Name: "mta-sts", TTL: 300 * time.Second, Target: "mail.example.net."},
		libdns.CNAME{Name: "_mta-sts.other", TTL: 300 * time.Second, Target: "_mta-sts.example.net."},
	}
	if _, err := s.Provider().AppendRecords(t.Context(), zone, recs); err != nil {
		t.Fatalf("AppendRecords: %v", err)
	}
	want := withBase(
		"mta-sts.example.test.\t300\tIN\tCNAME\tmail.example.net.",
		"_mta-sts.other.example.test.\t300\tIN\tCNAME\t_mta-sts.example.net.",
	)
	if diff := cmp.Diff(want, dump(t, s)); diff != "" {
		t.Errorf("Dump (-want +got):\n%s", diff)
	}
}

func TestSetRecordsReplacesOnlyTheGivenRRsets(t *testing.T) {
	s := Start(t, Zone{Name: "example.test", Records: []string{
		`_mta-sts.example.test. 300 IN TXT "v=STSv1; id=old1"`,
		`_mta-sts.example.test. 300 IN TXT "v=STSv1; id=old2"`,
		`_mta-sts.example.test. 300 IN CAA 0 issue "example.net"`,
		`_smtp._tls.example.test. 300 IN TXT "v=TLSRPTv1; rua=mailto:a@example.test"`,
	}})
	_, err := s.Provider().SetRecords(t.Context(), zone, []libdns.Record{
		txt("_mta-sts", "v=STSv1; id=new"),
		libdns.CNAME{Name: "mta-sts", TTL: 300 * time.Second, Target: "mail.example.net."},
	})
	if err != nil {
		t.Fatalf("SetRecords: %v", err)
	}
	want := withBase(
		"_mta-sts.example.test.\t300\tIN\tTXT\t\"v=STSv1; id=new\"",
		"_mta-sts.example.test.\t300\tIN\tCAA\t0 issue \"example.net\"",
		"_smtp._tls.example.test.\t300\tIN\tTXT\t\"v=TLSRPTv1; rua=mailto:a@example.test\"",
		"mta-sts.example.test.\t300\tIN\tCNAME\tmail.example.net.",
	)
	if diff := cmp.Diff(want, dump(t, s)); diff != "" {
		t.Errorf("Dump (-want +got):\n%s", diff)
	}
}

func TestDeleteRecords(t *testing.T) {
	initial := []string{
		`a.example.test. 300 IN TXT "v=STSv1; id=1"`,
		`a.example.test. 300 IN TXT "other"`,
		"a.example.test. 300 IN A 192.0.2.1",
		`q.example.test. 300 IN TXT "say \"hi\""`,
	}
	lineA := "a.example.test.\t300\tIN\tA\t192.0.2.1"
	lineSTS := "a.example.test.\t300\tIN\tTXT\t\"v=STSv1; id=1\""
	lineOther := "a.example.test.\t300\tIN\tTXT\t\"other\""
	lineQ := "q.example.test.\t300\tIN\tTXT\t\"say \\\"hi\\\"\""
	tests := []struct {
		name   string
		delete []libdns.Record
		want   []string
	}{
		{"one record by exact data", []libdns.Record{txt("a", "v=STSv1; id=1")}, withBase(lineOther, lineA, lineQ)},
		{"TTL is ignored when matching", []libdns.Record{libdns.RR{Name: "a", Type: "TXT", TTL: time.Hour, Data: "other"}}, withBase(lineSTS, lineA, lineQ)},
		{"Data empty deletes the RRset", []libdns.Record{libdns.RR{Name: "a", Type: "TXT"}}, withBase(lineA, lineQ)},
		{"Type empty deletes every record at the name", []libdns.Record{libdns.RR{Name: "a"}}, withBase(lineQ)},
		{"raw value with quotes deletes", []libdns.Record{txt("q", `say "hi"`)}, withBase(lineSTS, lineOther, lineA)},
		// The form GetRecords returns does not match what is stored: a silent no-op.
		{"escaped value as read back deletes nothing", []libdns.Record{txt("q", `say \"hi\"`)}, withBase(lineSTS, lineOther, lineA, lineQ)},
		{"absent record is NOERROR and no change", []libdns.Record{txt("nothere", "x")}, withBase(lineSTS, lineOther, lineA, lineQ)},
		{"several in one call", []libdns.Record{txt("a", "other"), libdns.RR{Name: "q"}}, withBase(lineSTS, lineA)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, Zone{Name: "example.test", Records: initial})
			if _, err := s.Provider().DeleteRecords(t.Context(), zone, tt.delete); err != nil {
				t.Fatalf("DeleteRecords: %v", err)
			}
			if diff := cmp.Diff(tt.want, dump(t, s)); diff != "" {
				t.Errorf("Dump (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBINDIgnoresCNAMEConflicts pins that BIND answers NOERROR to an UPDATE
// that would put a CNAME beside other data, writes nothing, and only logs it.
func TestBINDIgnoresCNAMEConflicts(t *testing.T) {
	cnameBesideTXT := libdns.CNAME{Name: "mta-sts", TTL: 300 * time.Second, Target: "mail.example.net."}
	txtBesideCNAME := txt("_mta-sts", "v=STSv1; id=1")
	const (
		txtThere   = `mta-sts.example.test. 300 IN TXT "x"`
		cnameThere = "_mta-sts.example.test. 300 IN CNAME _mta-sts.example.net."
		cnameLog   = "updating zone 'example.test/IN': attempt to add CNAME alongside non-CNAME ignored"
		otherLog   = "updating zone 'example.test/IN': attempt to add non-CNAME alongside CNAME ignored"
	)
	tests := []struct {
		name    string
		initial string
		call    func(context.Context, *Server) error
		wantLog string
	}{
		{"Append CNAME beside TXT", txtThere, func(ctx context.Context, s *Server) error {
			_, err := s.Provider().AppendRecords(ctx, zone, []libdns.Record{cnameBesideTXT})
			return err
		}, cnameLog},
		{"Set CNAME beside TXT", txtThere, func(ctx context.Context, s *Server) error {
			_, err := s.Provider().SetRecords(ctx, zone, []libdns.Record{cnameBesideTXT})
			return err
		}, cnameLog},
		{"Append TXT beside CNAME", cnameThere, func(ctx context.Context, s *Server) error {
			_, err := s.Provider().AppendRecords(ctx, zone, []libdns.Record{txtBesideCNAME})
			return err
		}, otherLog},
		{"Set TXT beside CNAME", cnameThere, func(ctx context.Context, s *Server) error {
			_, err := s.Provider().SetRecords(ctx, zone, []libdns.Record{txtBesideCNAME})
			return err
		}, otherLog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, Zone{Name: "example.test", Records: []string{tt.initial}})
			before := dump(t, s)
			if err := tt.call(t.Context(), s); err != nil {
				t.Errorf("got %v, want BIND's NOERROR", err)
			}
			if diff := cmp.Diff(before, dump(t, s)); diff != "" {
				t.Errorf("zone changed (-before +after):\n%s", diff)
			}
			if err := waitLog(t, s, tt.wantLog); err != nil {
				t.Error(err)
			}
		})
	}
}

// waitLog bounds Server.WaitLog so a missing line fails instead of hanging.
func waitLog(t *testing.T, s *Server, substr string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return s.WaitLog(ctx, substr)
}

// TestErrors pins the client's error text: miekg turns every signed
// NOTAUTH answer into ErrAuth, so a wrong key and an unserved zone read the
// same; only BIND's log tells them apart.
func TestErrors(t *testing.T) {
	s := Start(t, Zone{Name: "example.test"})
	before := dump(t, s)

	wrongSecret := *s.Provider()
	wrongSecret.Key = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="
	wrongName := *s.Provider()
	wrongName.KeyName = "other-key."

	tests := []struct {
		name                      string
		p                         libdns.RecordAppender
		zone                      string
		wantWrite, wantRead       string
		wantLogWrite, wantLogRead string
	}{
		{
			name: "wrong secret", p: &wrongSecret, zone: zone,
			wantWrite: "dns: bad authentication", wantRead: "zone transfer: dns: bad authentication",
			wantLogWrite: "request has invalid signature: TSIG mtasts-test: tsig verify failure (BADSIG)",
		},
		{
			name: "unknown key name", p: &wrongName, zone: zone,
			wantWrite: "dns: bad authentication", wantRead: "zone transfer: dns: bad authentication",
			wantLogWrite: "request has invalid signature: TSIG other-key: tsig verify failure (BADKEY)",
		},
		{
			name: "zone not served", p: s.Provider(), zone: "other.test.",
			wantWrite: "dns: bad authentication", wantRead: "zone transfer: dns: bad authentication",
			wantLogWrite: "update failed: other.test: not authoritative for update zone (NOTAUTH)",
			wantLogRead:  "bad zone transfer request: 'other.test/IN': non-authoritative zone (NOTAUTH)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.AppendRecords(t.Context(), tt.zone, []libdns.Record{txt("x", "y")})
			if err == nil || err.Error() != tt.wantWrite {
				t.Errorf("AppendRecords error = %v, want %q", err, tt.wantWrite)
			}
			if !errors.Is(err, dns.ErrAuth) {
				t.Errorf("AppendRecords error %v is not dns.ErrAuth", err)
			}
			_, err = tt.p.(libdns.RecordGetter).GetRecords(t.Context(), tt.zone)
			if err == nil || err.Error() != tt.wantRead {
				t.Errorf("GetRecords error = %v, want %q", err, tt.wantRead)
			}
			for _, want := range []string{tt.wantLogWrite, tt.wantLogRead} {
				if want == "" {
					continue
				}
				if err := waitLog(t, s, want); err != nil {
					t.Error(err)
				}
			}
		})
	}
	if diff := cmp.Diff(before, dump(t, s)); diff != "" {
		t.Errorf("zone changed (-before +after):\n%s", diff)
	}

	if _, err := s.Dump(t.Context(), "other.test"); err == nil || err.Error() != "zone other.test.: AXFR from "+s.Addr+": dns: bad authentication" {
		t.Errorf("Dump(unserved zone) error = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Dump(ctx, zone); err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("Dump(cancelled ctx) error = %v, want context.Canceled", err)
	}
}

// countingProxy forwards DNS over TCP to a server and records every message
// the client sends, so tests can count the requests each client call makes.
type countingProxy struct {
	Addr string

	mu    sync.Mutex
	conns int
	msgs  []string // "QUERY AXFR", "UPDATE SOA", …
}

func newCountingProxy(t *testing.T, upstream string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &countingProxy{Addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns++
			p.mu.Unlock()
			wg.Go(func() { p.serve(c, upstream) })
		}
	})
	return p
}

func (p *countingProxy) serve(client net.Conn, upstream string) {
	defer client.Close()
	server, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { _, _ = io.Copy(client, server); _ = client.Close() }()
	var size [2]byte
	for {
		if _, err := io.ReadFull(client, size[:]); err != nil {
			return
		}
		buf := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(client, buf); err != nil {
			return
		}
		m := new(dns.Msg)
		desc := "unparsable"
		if m.Unpack(buf) == nil && len(m.Question) == 1 {
			desc = dns.OpcodeToString[m.Opcode] + " " + dns.TypeToString[m.Question[0].Qtype]
		}
		p.mu.Lock()
		p.msgs = append(p.msgs, desc)
		p.mu.Unlock()
		if _, err := server.Write(append(size[:], buf...)); err != nil {
			return
		}
	}
}

// take returns and resets what was counted since the last call.
func (p *countingProxy) take() (conns int, msgs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	conns, msgs = p.conns, p.msgs
	p.conns, p.msgs = 0, nil
	return conns, msgs
}

func TestRequestCounts(t *testing.T) {
	s := Start(t, Zone{Name: "example.test"})
	proxy := newCountingProxy(t, s.Addr)
	p := s.Provider()
	p.Server = proxy.Addr
	three := []libdns.Record{txt("a", "1"), txt("a", "2"), libdns.CNAME{Name: "c", TTL: time.Minute, Target: "example.net."}}

	tests := []struct {
		name string
		call func(context.Context) error
	}{
		{"GetRecords", func(ctx context.Context) error { _, err := p.GetRecords(ctx, zone); return err }},
		{"AppendRecords x3", func(ctx context.Context) error { _, err := p.AppendRecords(ctx, zone, three); return err }},
		{"SetRecords x3", func(ctx context.Context) error { _, err := p.SetRecords(ctx, zone, three); return err }},
		{"DeleteRecords x3", func(ctx context.Context) error { _, err := p.DeleteRecords(ctx, zone, three); return err }},
		{"GetRecords again", func(ctx context.Context) error { _, err := p.GetRecords(ctx, zone); return err }},
	}
	want := map[string]string{
		"GetRecords":       "QUERY AXFR",
		"GetRecords again": "QUERY AXFR",
		"AppendRecords x3": "UPDATE SOA",
		"SetRecords x3":    "UPDATE SOA",
		"DeleteRecords x3": "UPDATE SOA",
	}
	for _, tt := range tests {
		if err := tt.call(t.Context()); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		conns, msgs := proxy.take()
		if conns != 1 || len(msgs) != 1 || msgs[0] != want[tt.name] {
			t.Errorf("%s sent %d connection(s), messages %q; want 1 connection, [%q]", tt.name, conns, msgs, want[tt.name])
		}
	}
}

func TestTwoServersAreIsolated(t *testing.T) {
	a := Start(t, Zone{Name: "example.test"})
	b := Start(t, Zone{Name: "example.test"}, Zone{Name: "second.test", Records: []string{"www.second.test. 60 IN A 192.0.2.9"}})
	if a.Addr == b.Addr || a.Secret == b.Secret {
		t.Fatalf("servers share Addr %q/%q or secret", a.Addr, b.Addr)
	}
	if _, err := a.Provider().AppendRecords(t.Context(), zone, []libdns.Record{txt("only-a", "1")}); err != nil {
		t.Fatalf("AppendRecords on a: %v", err)
	}
	if got := dump(t, b); !slices.Equal(got, baseLines) {
		t.Errorf("b changed by a write to a:\n%s", strings.Join(got, "\n"))
	}
	if got := dump(t, a); !slices.Contains(got, "only-a.example.test.\t300\tIN\tTXT\t\"1\"") {
		t.Errorf("a lacks its record:\n%s", strings.Join(got, "\n"))
	}
	crossed := a.Provider()
	crossed.Server = b.Addr
	if _, err := crossed.GetRecords(t.Context(), zone); !errors.Is(err, dns.ErrAuth) {
		t.Errorf("a's key against b: error = %v, want dns.ErrAuth", err)
	}
	second, err := b.Dump(t.Context(), "second.test")
	if err != nil || !slices.Contains(second, "www.second.test.\t60\tIN\tA\t192.0.2.9") {
		t.Errorf("b's second zone = %q, %v", second, err)
	}
}

func BenchmarkStart(b *testing.B) {
	named := findNamed()
	if named == "" {
		startWith(b, "", nil)
	}
	for b.Loop() {
		s, err := start(b.Context(), named, b.TempDir(), []Zone{{Name: "example.test"}})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.stop(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRunReportsTakenPort covers the race Start retries on: another process
// takes the picked port before named binds it. A taken UDP port stops named;
// a taken TCP port only shows in its log.
func TestRunReportsTakenPort(t *testing.T) {
	named := findNamed()
	if named == "" {
		startWith(t, "", nil)
	}
	tests := []struct {
		network string
		listen  func(addr string) (io.Closer, error)
	}{
		{"udp", func(addr string) (io.Closer, error) { return net.ListenPacket("udp4", addr) }},
		{"tcp", func(addr string) (io.Closer, error) { return net.Listen("tcp4", addr) }},
	}
	for _, tt := range tests {
		t.Run(tt.network, func(t *testing.T) {
			port, err := freePort(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			taken, err := tt.listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				t.Fatal(err)
			}
			defer taken.Close()
			dir := t.TempDir()
			names, err := writeZones(dir, []Zone{{Name: "example.test"}})
			if err != nil {
				t.Fatal(err)
			}
			s := &Server{Secret: "c2VjcmV0", dir: dir}
			err = s.run(t.Context(), named, port, names)
			if !errors.Is(err, errAddrInUse) {
				t.Errorf("run() on a taken %s port = %v, want errAddrInUse", tt.network, err)
			}
			if s.cmd.ProcessState == nil {
				t.Error("named still running after a failed start")
			}
		})
	}
}
