package main

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
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
}

func cmdCheck(c *cli.Context, e env) error {
	if err := checkOutput(c); err != nil {
		return err
	}
	targets, err := checkTargets(c, e)
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
				Resolver: c.String("resolver"),
				Dialer:   e.dialer,
				RootCAs:  pool,
				SMTP:     c.Bool("smtp"),
				Expected: t.expected,
			})
			reports[i] = checker.Check(c.Context, t.domain)
		}()
	}
	wg.Wait()
	if err := writeReports(c, e, reports); err != nil {
		return err
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
func checkTargets(c *cli.Context, e env) ([]checkTarget, error) {
	var args []string
	for _, a := range c.Args().Slice() {
		d, err := dnsname.Normalize(a)
		if err != nil {
			return nil, fail(fmt.Errorf("domain %q: %w", a, err), exitError)
		}
		args = append(args, d)
	}
	_, statErr := os.Stat(c.String("config"))
	if len(args) > 0 && !c.IsSet("config") && errors.Is(statErr, os.ErrNotExist) {
		out := make([]checkTarget, len(args))
		for i, d := range args {
			out[i] = checkTarget{domain: d}
		}
		return out, nil
	}
	_, eng, err := prepare(c, e)
	if err != nil {
		return nil, err
	}
	inv, err := eng.Inventory(c.Context)
	if err != nil {
		return nil, fail(err, exitError)
	}
	expected := map[string]mtasts.Policy{}
	for _, t := range inv.Targets {
		expected[t.Domain] = t.Policy
	}
	if len(args) == 0 {
		for _, t := range inv.Targets {
			args = append(args, t.Domain)
		}
	}
	out := make([]checkTarget, len(args))
	for i, d := range args {
		out[i] = checkTarget{domain: d}
		if p, ok := expected[d]; ok && p.Mode != "" {
			out[i].expected = &check.Expected{Policy: p, ID: p.ID()}
		}
	}
	return out, nil
}

func writeReports(c *cli.Context, e env, reports []check.Report) error {
	if c.String("output") == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if reports == nil {
			reports = []check.Report{}
		}
		return enc.Encode(reports)
	}
	st := style(c, e)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tCHECK\tVERDICT\tREASON")
	for _, r := range reports {
		for _, res := range r.Results {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Domain, res.Check, paintVerdict(st.Color, res.Verdict), res.Reason)
		}
	}
	return tw.Flush()
}

func paintVerdict(color bool, v check.Verdict) string {
	if !color {
		return string(v)
	}
	code := map[check.Verdict]string{check.Pass: "32", check.Warn: "33", check.Fail: "31"}[v]
	return "\x1b[" + code + "m" + strings.ToUpper(string(v)) + "\x1b[0m"
}
