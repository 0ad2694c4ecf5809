// Package soak holds the bounded soak test of an AimX hub under hostile
// load (build tag soak; .ci/run runs it): see soak_test.go.
package soak
