//go:build !race

package hubtest

const raceEnabled = false
