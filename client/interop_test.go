package client

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
)

// Interop: the client against WebSocket servers that are not switchboard,
// with permessage-deflate in every mode. Peers: Python websockets (Debian's
// python3-websockets, /usr/bin/python3) and Node's ws (internal/interop's
// node_modules). A missing peer skips its cases.

const pyEchoServer = `
import asyncio, sys, websockets
async def echo(ws, path=None):
    async for m in ws:
        await ws.send(m)
async def main():
    comp = None if sys.argv[1] == "off" else "deflate"
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=2**22, compression=comp) as srv:
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
`

const nodeEchoServer = `
const { WebSocketServer } = require(process.argv[1]);
// "takeover": ws's defaults (it accepts server_no_context_takeover when
// offered; configured with serverNoContextTakeover: false it would refuse
// the handshake with 400 instead of declining the offer).
const mode = process.argv[2];
const pmd = mode === "off" ? false : mode === "nct" ? { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true } : { threshold: 0 };
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: pmd, maxPayload: 1 << 22 });
wss.on("connection", ws => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
wss.on("listening", () => console.log(wss.address().port));
`

// startPeer runs a peer server and returns its port.
func startPeer(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Skipf("%s: %v", name, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- strings.TrimSpace(sc.Text())
		}
		close(line)
	}()
	select {
	case port, ok := <-line:
		if !ok || port == "" {
			t.Fatalf("%s did not start", name)
		}
		return port
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not start in 20s", name)
	}
	return ""
}

func TestInteropPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts external servers")
	}
	wsModule, _ := filepath.Abs("../internal/interop/node_modules/ws")
	type peer struct {
		name, mode string
		start      func(t *testing.T) string
	}
	var peers []peer
	if err := exec.Command("/usr/bin/python3", "-c", "import websockets").Run(); err == nil {
		for _, mode := range []string{"deflate", "off"} {
			peers = append(peers, peer{"python-websockets", mode, func(t *testing.T) string {
				return startPeer(t, "/usr/bin/python3", "-c", pyEchoServer, mode)
			}})
		}
	} else {
		t.Log("python3-websockets missing (/usr/bin/python3 -c 'import websockets'): skipping its cases")
	}
	if _, err := os.Stat(wsModule); err == nil {
		if _, err := exec.LookPath("node"); err == nil {
			for _, mode := range []string{"takeover", "nct", "off"} {
				peers = append(peers, peer{"node-ws", mode, func(t *testing.T) string {
					return startPeer(t, "node", "-e", nodeEchoServer, wsModule, mode)
				}})
			}
		}
	} else {
		t.Log("node ws missing (internal/interop/node_modules): skipping its cases")
	}
	if len(peers) == 0 {
		t.Skip("no peer servers installed")
	}
	cl := newClient(t)
	for _, p := range peers {
		t.Run(p.name+"/"+p.mode, func(t *testing.T) {
			port := p.start(t)
			for _, comp := range []Compression{CompressionOff, CompressionNoContextTakeover, CompressionContextTakeover} {
				t.Run(fmt.Sprint("offer", comp), func(t *testing.T) {
					rec := newRecorder()
					c, err := (&Dialer{Client: cl, Compression: comp, MaxMessageSize: 1 << 22}).Dial(ctx10(t), "ws://127.0.0.1:"+port+"/", rec)
					if err != nil {
						t.Fatal(err)
					}
					wantDeflate := comp != CompressionOff && p.mode != "off"
					if c.Deflate() != wantDeflate {
						t.Fatalf("Deflate() = %v, want %v", c.Deflate(), wantDeflate)
					}
					// Repetitive text (compresses, exercises the windows),
					// across sizes, several times (context takeover).
					for round := 0; round < 3; round++ {
						for _, n := range []int{0, 1, 200, 5000, 70000, 1 << 20} {
							unit := fmt.Sprintf("round %d size %d; ", round, n)
							msg := strings.Repeat(unit, n/len(unit)+1)[:n]
							typ := Text
							if n%2 == 1 {
								typ = Binary
							}
							if err := c.WriteMessage(typ, []byte(msg)); err != nil {
								t.Fatal(err)
							}
							if got := rec.next(t); got != msg {
								t.Fatalf("round %d, %d bytes: got %d bytes", round, n, len(got))
							}
						}
					}
					_ = c.Close(codec.CloseNormal, "")
					rec.closed(t)
				})
			}
		})
	}
}
