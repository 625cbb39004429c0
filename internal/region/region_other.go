//go:build !linux

package region

import "errors"

const supported = false

var pageSize = 4096

func mapRegion(int) ([]byte, error) { return nil, errors.New("region: not supported") }

func release([]byte) {}
