package nats_test

import (
	"crypto/x509"
	"testing"

	"github.com/aimdb-go/aimdb/internal/tlstest"
)

type testPKI = tlstest.PKI

func newTestPKI(t testing.TB) testPKI { return tlstest.New(t) }

func mustPool(t testing.TB, caFile string) *x509.CertPool { return tlstest.Pool(t, caFile) }
