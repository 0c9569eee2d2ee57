// Command mtasts-sync keeps the DNS side of MTA-STS (RFC 8461) and SMTP TLS
// reporting (RFC 8460) true for every mail domain of a mail server.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/internal/render"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// env is the outside world one run of the program sees; tests give their own.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// dialer makes policy-fetch, mailcow and SMTP connections; nil is a
	// plain net.Dialer, after resolving policy and MX hosts through
	// --resolver. Tests map names to loopback servers here.
	dialer check.Dialer
	// httpsPort and smtpPort replace 443 and 25 for policy fetches and
	// SMTP probes; 0 keeps them. Tests reach loopback servers this way
	// when names are resolved through --resolver, without a dialer.
	httpsPort, smtpPort int
	// transport carries the HTTP requests of the provider clients that
	// accept one; nil is http.DefaultTransport. Tests point it at fakes.
	transport http.RoundTripper
	// now is the clock of retire: dates and policy-change warnings; nil
	// is time.Now. Tests set it instead of sleeping.
	now func() time.Time
	// terminal says whether a writer is a terminal (colour allowed); nil
	// asks the operating system.
	terminal func(io.Writer) bool
}

// Exit codes.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2  // plan --detailed-exitcode: changes pending
	exitUsage   = 64 // EX_USAGE of sysexits.h: the command line was wrong
)

func run(ctx context.Context, args []string, e env) int {
	app := newApp(e)
	args, err := normalizeArgs(app, args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	if err == nil {
		return exitOK
	}
	if ec, ok := err.(exitCoder); ok {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintln(e.stderr, "mtasts-sync:", render.Printable(msg))
		}
		return ec.ExitCode()
	}
	// Errors quote others' text (mailcow's, a provider's, a server's).
	fmt.Fprintln(e.stderr, "mtasts-sync:", render.Printable(err.Error()))
	return exitError
}

type exitCoder interface {
	error
	ExitCode() int
}

// exitError carries a message and an exit code out of a command.
type exitErr struct {
	msg  string
	code int
}

func (e exitErr) Error() string      { return e.msg }
func (e exitErr) ExitCode() int      { return e.code }
func exit(code int) error            { return exitErr{code: code} }
func fail(err error, code int) error { return exitErr{msg: err.Error(), code: code} }
