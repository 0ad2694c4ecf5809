//go:build baremetal

package buffertest

// stressN is how many values each stress run pushes. A microcontroller
// has tens of kilobytes of RAM, and the mailbox stress run records every
// delivered value in a map, which at the 20,000 values of the other
// targets needs several hundred kilobytes; so the runs are shorter here.
const stressN = 1_000
