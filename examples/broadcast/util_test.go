package main

import (
	"errors"
	"unicode/utf8"
)

func errorsAs(err error, target any) bool { return err != nil && errors.As(err, target) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func validUTF8(s string) bool { return utf8.ValidString(s) }
