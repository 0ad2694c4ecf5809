package main

// The output the README shows.
func Example() {
	main()
	// Output:
	// handled: open 90%
	// handled: close 0%
	// handled: open 25%
	// produced 5, consumed 3
}
