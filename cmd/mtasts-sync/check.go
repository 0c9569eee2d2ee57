package main

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/metrics"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/internal/render"
)

// rootCAs is the system pool plus the certificates of --ca-file, or nil
// (the system pool) without one.
func rootCAs(file string) (*x509.CertPool, error) {
	pool, err := engine.AddCAs(nil, file)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	return pool, nil
}

// checkTarget is a domain to check and, when a config is given, the policy
// it should serve.
type checkTarget struct {
	domain   string
	expected *check.Expected
	// daneHosts are the hosts the config publishes TLSA records for.
	daneHosts []string
	// zone and provider hold the domain's records, when a config says so.
	zone, provider string
}

func cmdCheck(c *cli.Context, e env) error {
	if err := checkOutput(c); err != nil {
		return err
	}
	targets, eng, err := checkTargets(c, e)
	if err != nil {
		return err
	}
	pool, err := rootCAs(c.String("ca-file"))
	if err != nil {
		return fail(err, exitError)
	}
	reports := make([]check.Report, len(targets))
	parallel := c.Int("concurrency")
	if parallel < 1 {
		parallel = 8
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			checker := check.New(check.Options{
				Resolver:  c.String("resolver"),
				Dialer:    e.dialer,
				HTTPSPort: e.httpsPort,
				SMTPPort:  e.smtpPort,
				RootCAs:   pool,
				SMTP:      c.Bool("smtp"),
				Expected:  t.expected,
				DANEHosts: t.daneHosts,
			})
			reports[i] = checker.Check(c.Context, t.domain)
		}()
	}
	wg.Wait()
	if eng != nil {
		addProxyHints(c, eng, targets, reports)
	}
	if err := writeReports(c, e, reports); err != nil {
		return err
	}
	if path := c.String("textfile"); path != "" {
		if err := metrics.WriteFile(path, metrics.Check(reports, time.Now())); err != nil {
			return fail(fmt.Errorf("--textfile: %w", err), exitError)
		}
	}
	worst := check.Pass
	for _, r := range reports {
		switch r.Worst() {
		case check.Fail:
			worst = check.Fail
		case check.Warn:
			if worst == check.Pass {
				worst = check.Warn
			}
		}
	}
	if worst == check.Fail || (worst == check.Warn && c.Bool("strict")) {
		return exit(exitError)
	}
	return nil
}

// checkTargets takes the domains from the arguments, or else from the
// config's domain sources. With a config, each domain's expected policy
// and id come along for the consistency check.
func checkTargets(c *cli.Context, e env) ([]checkTarget, *engine.Engine, error) {
	var args []string
	for _, a := range c.Args().Slice() {
		d, err := dnsname.Normalize(a)
		if err != nil {
			return nil, nil, fail(err, exitError) // names the argument already
		}
		args = append(args, d)
	}
	path, named := configPath(c, e)
	_, statErr := os.Stat(path)
	if len(args) > 0 && !named && errors.Is(statErr, os.ErrNotExist) {
		out := make([]checkTarget, len(args))
		for i, d := range args {
			out[i] = checkTarget{domain: d}
		}
		return out, nil, nil
	}
	cfg, eng, err := prepare(c, e)
	if err != nil {
		return nil, nil, err
	}
	inv, err := eng.Inventory(c.Context)
	if err != nil {
		return nil, nil, fail(err, exitError)
	}
	expected := map[string]mtasts.Policy{}
	where := map[string][2]string{}
	for _, t := range inv.Targets {
		expected[t.Domain] = t.Policy
		if t.Err == nil {
			where[t.Domain] = [2]string{t.Zone, t.Provider}
		}
	}
	if len(args) == 0 {
		// Domains in retire: are leaving MTA-STS: once their records are
		// gone every check would fail, so they are checked only by name.
		for _, t := range inv.Targets {
			if t.Retire == nil {
				args = append(args, t.Domain)
			}
		}
	}
	out := make([]checkTarget, len(args))
	for i, d := range args {
		out[i] = checkTarget{domain: d, zone: where[d][0], provider: where[d][1]}
		if cfg.DANE != nil {
			out[i].daneHosts = cfg.DANE.Hosts
		}
		if p, ok := expected[d]; ok && p.Mode != "" {
			out[i].expected = &check.Expected{Policy: p, ID: p.ID()}
		}
	}
	return out, eng, nil
}

// addProxyHints adds to a failed policy-host check the proxy in front of
// the policy host (Cloudflare's orange cloud) when the domain's zone is
// at such a provider: a likely cause the fetch alone cannot see.
func addProxyHints(c *cli.Context, eng *engine.Engine, targets []checkTarget, reports []check.Report) {
	for i, t := range targets {
		for j, res := range reports[i].Results {
			if res.Check != "policy-host" || res.Verdict != check.Fail || t.provider == "" {
				continue
			}
			if hint := eng.ProxyHint(c.Context, t.zone, t.provider, t.domain, false); hint != "" {
				reports[i].Results[j].Reason += "; " + hint
			}
		}
	}
}

func writeReports(c *cli.Context, e env, reports []check.Report) error {
	if c.String("output") == "prometheus" {
		text, err := metrics.Text(metrics.Check(reports, time.Now()))
		if err != nil {
			return fail(err, exitError)
		}
		_, err = e.stdout.Write(text)
		return err
	}
	if c.String("output") == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if reports == nil {
			reports = []check.Report{}
		}
		return enc.Encode(reports)
	}
	return writeCheckTable(e.stdout, reports, style(c, e).Color)
}

// writeCheckTable prints one row per check under a header. Columns are
// padded by the visible width of the plain words, and only then is the
// verdict coloured, so coloured and plain output align alike and say the
// same words.
func writeCheckTable(w io.Writer, reports []check.Report, color bool) error {
	head := [3]string{"DOMAIN", "CHECK", "VERDICT"}
	width := [3]int{}
	for i, h := range head {
		width[i] = len(h)
	}
	for _, r := range reports {
		width[0] = max(width[0], utf8.RuneCountInString(r.Domain))
		for _, res := range r.Results {
			width[1] = max(width[1], utf8.RuneCountInString(res.Check))
			width[2] = max(width[2], utf8.RuneCountInString(string(res.Verdict)))
		}
	}
	pad := func(s string, i int) string {
		return s + strings.Repeat(" ", width[i]-utf8.RuneCountInString(s)+2)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s%s%sREASON\n", pad(head[0], 0), pad(head[1], 1), pad(head[2], 2))
	for _, r := range reports {
		for _, res := range r.Results {
			v := pad(string(res.Verdict), 2)
			if color {
				word := string(res.Verdict)
				v = paintVerdict(res.Verdict, word) + v[len(word):]
			}
			fmt.Fprintf(bw, "%s%s%s%s\n", pad(r.Domain, 0), pad(res.Check, 1), v, render.PrintableLine(res.Reason))
		}
	}
	return bw.Flush()
}

// paintVerdict colours word (the verdict as plain output prints it).
func paintVerdict(v check.Verdict, word string) string {
	code := map[check.Verdict]string{check.Pass: "32", check.Warn: "33", check.Fail: "31"}[v]
	return "\x1b[" + code + "m" + word + "\x1b[0m"
}
