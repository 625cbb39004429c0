package engine

import (
	"net/http"
	"sync"

	"github.com/switchboard-ws/switchboard/codec"
)

// httpScratch is what one UpgradeHTTP call works in, pooled.
type httpScratch struct {
	head []byte        // the request head, rebuilt from the http.Request
	out  []byte        // the 101
	req  codec.Request // parsed from head
}

var scratchPool = sync.Pool{New: func() any { return new(httpScratch) }}

func getScratch() *httpScratch { return scratchPool.Get().(*httpScratch) }

func putScratch(sc *httpScratch) {
	sc.req = codec.Request{}
	if cap(sc.head) > 16<<10 || cap(sc.out) > 16<<10 {
		return // an unusual request: do not keep its buffers
	}
	scratchPool.Put(sc)
}

// appendHead rebuilds r's request head as the client sent it, near enough
// for codec.ParseRequest: the same request line, Host, and every header
// line (net/http keeps each header's lines in order; the order between
// different headers is lost, which no check depends on). The upgrade is
// then checked by the code that checks the engine's own handshakes, and the
// Upgrade hook sees the same *UpgradeRequest.
func appendHead(dst []byte, r *http.Request) []byte {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	dst = append(dst, r.Method...)
	dst = append(dst, ' ')
	dst = append(dst, uri...)
	dst = append(dst, ' ')
	dst = append(dst, r.Proto...)
	dst = append(dst, "\r\n"...)
	if r.Host != "" {
		dst = append(dst, "Host: "...)
		dst = append(dst, r.Host...)
		dst = append(dst, "\r\n"...)
	}
	for name, values := range r.Header {
		for _, v := range values {
			dst = append(dst, name...)
			dst = append(dst, ": "...)
			dst = append(dst, v...)
			dst = append(dst, "\r\n"...)
		}
	}
	return append(dst, "\r\n"...)
}
