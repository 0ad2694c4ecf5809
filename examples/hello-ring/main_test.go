package main

// The output the README shows.
func Example() {
	main()
	// Output:
	// tap: 20.0 °C
	// tap: 20.5 °C
	// tap: 21.0 °C
	// tap: 21.5 °C
	// tap: 22.0 °C
	// tap: 22.5 °C
	// tap: 23.0 °C
	// tap: 23.5 °C
	// slow: lagged, missed 4 readings
	// slow: 22.0 °C
	// slow: 22.5 °C
	// slow: 23.0 °C
	// slow: 23.5 °C
	// produced 8, dropped 4
}
