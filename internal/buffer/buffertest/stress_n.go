//go:build !baremetal

package buffertest

// stressN is how many values each stress run pushes.
const stressN = 20_000
