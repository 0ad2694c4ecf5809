package cmdline_test

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/internal/cmdline"
)

func TestParseAndExitCode(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		line   string // what ExitCode prints
		help   bool   // Parse printed the usage
	}{
		{nil, 0, "", false},
		{[]string{"-n", "3"}, 0, "", false},
		{[]string{"-help"}, 0, "", true},
		{[]string{"-n", "many"}, 2, `prog: invalid value "many" for flag -n: parse error` + "\n", false},
		{[]string{"-bogus"}, 2, "prog: flag provided but not defined: -bogus\n", false},
		{[]string{"extra"}, 2, `prog: unexpected argument "extra"` + "\n", false},
	} {
		fs := flag.NewFlagSet("prog", flag.ContinueOnError)
		fs.Int("n", 1, "a `number`")
		var stderr, out bytes.Buffer
		err := cmdline.Parse(fs, tc.args, "prog [-n number]", &stderr)
		if got := cmdline.ExitCode("prog", err, &out); got != tc.status || out.String() != tc.line {
			t.Errorf("%q: exit %d, printed %q; want %d, %q", tc.args, got, out.String(), tc.status, tc.line)
		}
		if help := strings.Contains(stderr.String(), "usage: prog [-n number]") && strings.Contains(stderr.String(), "-n number"); help != tc.help {
			t.Errorf("%q: usage printed %v (%q)", tc.args, help, stderr.String())
		}
	}
	var out bytes.Buffer
	if got := cmdline.ExitCode("prog", errors.New("broker down"), &out); got != 1 || out.String() != "prog: broker down\n" {
		t.Errorf("a failure: exit %d, printed %q", got, out.String())
	}
	if !errors.Is(cmdline.Usage(flag.ErrHelp), flag.ErrHelp) {
		t.Error("Usage hides the error it wraps")
	}
}
