package main

// The output the README shows.
func Example() {
	main()
	// Output:
	// early subscriber: 10 Hz
	// early subscriber: nothing new
	// late subscriber: 10 Hz
	// peek: 10 Hz in celsius
	// produced 3, consumed 2, dropped 0
}
