package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aimdb-go/aimdb/examples/weather-mesh/dashboard"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		method, path string
		status       int
		contentType  string
		contains     string
	}{
		{"GET", "/", http.StatusOK, "text/html; charset=utf-8", "<title>AimDB · weather mesh</title>"},
		{"HEAD", "/", http.StatusOK, "text/html; charset=utf-8", ""},
		{"GET", "/app.js", http.StatusOK, "text/javascript; charset=utf-8", `"station.#"`},
		{"GET", "/style.css", http.StatusOK, "text/css; charset=utf-8", ".card"},
		{"GET", "/index.html", http.StatusMovedPermanently, "", ""},
		{"GET", "/nope.js", http.StatusNotFound, "", ""},
		{"GET", "/static/app.js", http.StatusNotFound, "", ""},
		{"GET", "/ws", http.StatusNotFound, "", ""},
		{"GET", "/dashboard.go", http.StatusNotFound, "", ""},
		{"POST", "/", http.StatusMethodNotAllowed, "", ""},
	}
	h := dashboard.Handler()
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d", w.Code, tt.status)
			}
			if tt.contentType == "" {
				return
			}
			if got := w.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if body := w.Body.String(); !strings.Contains(body, tt.contains) {
				t.Errorf("body does not contain %q:\n%.200s", tt.contains, body)
			}
		})
	}
}
