// Chromium is a separate process: js/wasm and wasip1 cannot start it.
//go:build !js && !wasip1

// Package chromiumtest opens headless Chromium (Debian's package) for the
// tests that drive a page: the browser example and the dashboard.
package chromiumtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/aimdb-go/aimdb/internal/tooltest"
)

// Require returns the Chromium the tests drive: $AIMDB_CHROMIUM, or
// chromium on PATH. When it is missing it skips the test, naming the
// package to install, or fails it under AIMDB_TEST_STRICT=1 (see
// internal/tooltest).
func Require(t testing.TB) string {
	t.Helper()
	return tooltest.Path(t, "chromium")
}

// Open starts headless Chromium for at most timeout and returns the
// context of its first tab, closed when the test ends. The page's
// console goes to the test log; an uncaught exception is reported with
// onException (t.Logf or t.Errorf). extra adds allocator options, such
// as a window size.
func Open(t testing.TB, timeout time.Duration, onException func(format string, args ...any), extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // containers run the tests as root
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(opts, extra...)...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
	})
	if err := chromedp.Listen(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			t.Logf("console.%s: %s", ev.Type, strings.Join(args, " "))
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			if d.Exception != nil {
				onException("page exception: %s %s", d.Text, d.Exception.Description)
			} else {
				onException("page exception: %s", d.Text)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	return bctx
}
