package billing

import (
	"math"
	"testing"
)

func TestParseFixed(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		why  string
	}{
		{"0", 0, ""},
		{"1.20", 12000, ""},
		{"8.5", 85000, ""},
		{"0.0001", 1, ""},
		{"75", 750000, ""},
		{"1.23450000", 12345, ""},
		{"007.5", 75000, ""},
		{"999999999999.9999", 9999999999999999, ""},
		{"1.23456", 0, "has more than 4 decimal places"},
		{"1000000000000", 0, "is out of range: at most 12 integer digits"},
		{"", 0, "is not a decimal"},
		{".", 0, "is not a decimal"},
		{"-", 0, "is not a decimal"},
		{"-1", 0, "must not be negative"},
		{"--1", 0, "is not a decimal"},
		{"+1", 0, "is not a decimal"},
		{"1.2.3", 0, "is not a decimal"},
		{"1e3", 0, "is not a decimal"},
		{"١", 0, "is not a decimal"},
	}
	for _, tt := range tests {
		got, why := parseFixed(tt.in, priceScale, maxPriceDigits)
		if got != tt.want || why != tt.why {
			t.Errorf("parseFixed(%q) = %d, %q; want %d, %q", tt.in, got, why, tt.want, tt.why)
		}
	}
}

func TestRoundFloat(t *testing.T) {
	tests := []struct {
		f      float64
		places int
		want   int64
	}{
		{312.4, 1, 3124},
		{312.45, 1, 3125}, // the binary value is 312.4499…; the text a person reads is 312.45
		{312.44999, 1, 3124},
		{0.05, 1, 1},
		{0.04999, 1, 0},
		{1e-9, 1, 0},
		{0, 1, 0},
		{999999.95, 1, 10000000},
		{44.6, 1, 446},
		{120, 1, 1200},
		{1e9, 0, 1e9},
	}
	for _, tt := range tests {
		if got := roundFloat(tt.f, tt.places); got != tt.want {
			t.Errorf("roundFloat(%v, %d) = %d, want %d", tt.f, tt.places, got, tt.want)
		}
	}
}

func TestMulRound(t *testing.T) {
	tests := []struct {
		a, b  int64
		shift int
		want  int64
		ok    bool
	}{
		{3124, 12000, 3, 37488, true}, // 312.4 km × 1.20 = 374.88
		{5, 1, 1, 1, true},            // 0.5 → 1: half-up
		{4, 1, 1, 0, true},
		{15, 1, 1, 2, true},
		{25, 1, 1, 3, true}, // not to even
		{math.MaxInt64, 1, 0, math.MaxInt64, true},
		{math.MaxInt64, 2, 0, 0, false},
		{math.MaxInt64, math.MaxInt64, 6, 0, false},
		{math.MaxInt64, 10, 1, math.MaxInt64, true},
		{0, math.MaxInt64, 6, 0, true},
	}
	for _, tt := range tests {
		got, ok := mulRound(tt.a, tt.b, tt.shift)
		if got != tt.want || ok != tt.ok {
			t.Errorf("mulRound(%d, %d, %d) = %d, %v; want %d, %v", tt.a, tt.b, tt.shift, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := add(math.MaxInt64, 1); ok {
		t.Error("add(MaxInt64, 1) did not report overflow")
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		v                int64
		scale, minPlaces int
		want             string
	}{
		{12000, 4, 2, "1.20"},
		{41240, 4, 2, "4.124"},
		{1, 4, 2, "0.0001"},
		{85000, 4, 0, "8.5"},
		{80000, 4, 0, "8"},
		{3124, 1, 1, "312.4"},
		{3120, 1, 1, "312.0"},
		{0, 2, 2, "0.00"},
		{5, 2, 2, "0.05"},
		{123450, 2, 2, "1234.50"},
		{3, 0, 0, "3"},
		{math.MaxInt64, 2, 2, "92233720368547758.07"},
	}
	for _, tt := range tests {
		if got := format(tt.v, tt.scale, tt.minPlaces); got != tt.want {
			t.Errorf("format(%d, %d, %d) = %q, want %q", tt.v, tt.scale, tt.minPlaces, got, tt.want)
		}
	}
}
