// Command hub serves the browser example: it builds the page's
// WebAssembly module, then serves the page with a DB of simulated
// weather stations over WebSocket, read-only.
//
//	go run ./examples/browser/hub               # then open http://localhost:8080/
//	go run ./examples/browser/hub -addr :9000
//
// It needs the go command (to build the module) and runs until
// interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/aimdb-go/aimdb"
	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/connector/websocket"
)

// Temperature is a station's reading.
type Temperature struct {
	Celsius float64 `json:"celsius"`
}

func main() {
	addr := flag.String("addr", "localhost:8080", "address to serve the page and the hub on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	err = run(ctx, ln, func(url string) { log.Printf("open %s", url) })
	if err != nil {
		log.Fatal(err)
	}
}

// run builds the page, then serves it and the hub on ln until ctx ends.
// ready is called with the page's URL once it is served.
func run(ctx context.Context, ln net.Listener, ready func(url string)) error {
	dir, err := os.MkdirTemp("", "aimdb-browser-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	page, err := buildPage(ctx, dir)
	if err != nil {
		return err
	}

	db := aimdb.New(nil)
	for i, base := range []float64{21, 17} {
		key := aimdb.NewKey[Temperature](fmt.Sprintf("station.%d.temperature", i+1))
		r, err := aimdb.Register(db, key, aimdb.Ring(16))
		if err != nil {
			return err
		}
		r.RemoteAccess(codec.JSON[Temperature]{})
		r.Source(func(ctx context.Context, p *aimdb.Producer[Temperature]) error {
			for n := 0.0; ; n++ {
				p.Produce(Temperature{math.Round((base+2*math.Sin(n/10))*100) / 100})
				if err := p.Clock().Sleep(ctx, time.Second); err != nil {
					return nil
				}
			}
		})
	}
	dbErr := make(chan error, 1)
	dbCtx, stopDB := context.WithCancel(context.Background())
	defer func() { stopDB(); <-dbErr }()
	go func() { dbErr <- db.Run(dbCtx) }()

	h := websocket.NewHandler(aimx.NewServer(db, nil), nil)
	mux := h.Mux()
	for name, path := range page {
		mux.HandleFunc("GET /"+name, func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, path) })
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, page["index.html"]) })
	ready("http://" + ln.Addr().String() + "/")
	return h.Serve(ctx, ln)
}

// buildPage builds the page's module into dir and returns the files to
// serve by name.
func buildPage(ctx context.Context, dir string) (map[string]string, error) {
	const pkg = "github.com/aimdb-go/aimdb/examples/browser"
	src, err := goCmd(ctx, "list", "-f", "{{.Dir}}", pkg)
	if err != nil {
		return nil, err
	}
	goroot, err := goCmd(ctx, "env", "GOROOT")
	if err != nil {
		return nil, err
	}
	wasm := filepath.Join(dir, "main.wasm")
	if _, err := goCmd(ctx, "build", "-o", wasm, pkg); err != nil {
		return nil, err
	}
	return map[string]string{
		"index.html":   filepath.Join(src, "index.html"),
		"main.wasm":    wasm,
		"wasm_exec.js": filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"),
	}, nil
}

// goCmd runs the go command for js/wasm and returns its trimmed output.
func goCmd(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		return "", fmt.Errorf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
