// The bench's Go implementation: an echo server and its client for every scenario of
// bench/protocol.ts, with the standard library's net only, a goroutine per connection, and
// TCP_NODELAY as Go sets it by default on every TCP connection.
//
//	netbench serve <scenario> <params JSON>
//	netbench client <scenario> <port> <params JSON>
//
// It is driven by bench/impl/go.ts, which runs inside a bench worker and spawns it once per
// measurement; it prints JSON lines on stdout: {"kind":"listening","port":N} and then
// {"kind":"served","report":{...}} (serve), {"kind":"done","report":{...}} (client), or
// {"kind":"failed","message":"..."}. The reports have the fields of ServerReport and
// ClientReport; CPU is getrusage(RUSAGE_SELF) over the same window as the Node
// implementations' process.cpuUsage(), after a forced GC. The process exits when its stdin
// closes, so it never outlives the worker that spawned it.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const messageBytes = 64
const settle = 100 * time.Millisecond // IDLE_SETTLE_MILLIS

// Params are bench/protocol.ts's Params.
type Params struct {
	RoundTrips        int `json:"roundTrips"`
	BulkBytes         int `json:"bulkBytes"`
	ChunkBytes        int `json:"chunkBytes"`
	ManyConnections   int `json:"manyConnections"`
	ManyRoundTrips    int `json:"manyRoundTrips"`
	IdleConnections   int `json:"idleConnections"`
	AcceptConnections int `json:"acceptConnections"`
	AcceptConcurrency int `json:"acceptConcurrency"`
	PipelineBatches   int `json:"pipelineBatches"`
	PipelineCommands  int `json:"pipelineCommands"`
}

type Cpu struct {
	User   int64 `json:"user"`
	System int64 `json:"system"`
}

type Memory struct {
	RssBefore  int64 `json:"rssBefore"`
	RssAfter   int64 `json:"rssAfter"`
	HeapBefore int64 `json:"heapBefore"`
	HeapAfter  int64 `json:"heapAfter"`
}

type ServerReport struct {
	Cpu         Cpu     `json:"cpu"`
	Connections int64   `json:"connections"`
	Bytes       int64   `json:"bytes"`
	Commands    *int64  `json:"commands,omitempty"`
	Memory      *Memory `json:"memory,omitempty"`
}

type ClientReport struct {
	Cpu        Cpu   `json:"cpu"`
	ElapsedNs  int64 `json:"elapsedNs"`
	Operations int64 `json:"operations"`
}

var out = json.NewEncoder(os.Stdout)
var outMu sync.Mutex

func emit(v map[string]any) {
	outMu.Lock()
	defer outMu.Unlock()
	if err := out.Encode(v); err != nil {
		os.Exit(2)
	}
}

func fail(err error) {
	emit(map[string]any{"kind": "failed", "message": err.Error()})
	os.Exit(1)
}

func rusage() Cpu {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail(err)
	}
	micros := func(t syscall.Timeval) int64 { return int64(t.Sec)*1_000_000 + int64(t.Usec) }
	return Cpu{User: micros(ru.Utime), System: micros(ru.Stime)}
}

// window is a measured stretch: CPU and wall time since start, after a forced GC.
type window struct {
	cpu Cpu
	t0  time.Time
}

func startWindow() window {
	runtime.GC()
	return window{cpu: rusage(), t0: time.Now()}
}

func (w window) stop() (Cpu, int64) {
	elapsed := time.Since(w.t0).Nanoseconds()
	c := rusage()
	return Cpu{User: c.User - w.cpu.User, System: c.System - w.cpu.System}, elapsed
}

// memory is the process's RSS (/proc/self/statm) and the Go memory in use (heap objects and
// goroutine stacks) after a GC: what the Node servers report as RSS and JS heap.
func memory() (rss int64, heap int64) {
	runtime.GC()
	runtime.GC()
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		fail(err)
	}
	fields := bytes.Fields(statm)
	pages, _ := strconv.ParseInt(string(fields[1]), 10, 64)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return pages * int64(os.Getpagesize()), int64(ms.HeapAlloc + ms.StackInuse)
}

func expectedConnections(scenario string, p Params) int64 {
	switch scenario {
	case "many":
		return int64(p.ManyConnections)
	case "idle":
		return int64(p.IdleConnections)
	case "accept":
		return int64(p.AcceptConnections)
	}
	return 1
}

// ---- server

func serve(scenario string, p Params) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	expected := expectedConnections(scenario, p)
	var finished, bulkBytes, commands atomic.Int64
	var rssBefore, heapBefore int64
	if scenario == "idle" {
		rssBefore, heapBefore = memory()
	}
	errs := make(chan error, 1)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	done := func() {
		if finished.Add(1) == expected {
			report(nil)
		}
	}
	w := startWindow()
	emit(map[string]any{"kind": "listening", "port": ln.Addr().(*net.TCPAddr).Port})

	handle := func(c net.Conn) {
		switch scenario {
		case "pingpong", "many":
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						report(werr)
						return
					}
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					report(err)
					return
				}
			}
			done()
		case "bulk":
			defer c.Close()
			buf := make([]byte, p.ChunkBytes)
			var total int64
			for {
				n, err := c.Read(buf)
				total += int64(n)
				if n > 0 && total == int64(p.BulkBytes) {
					if _, werr := c.Write([]byte{1}); werr != nil {
						report(werr)
						return
					}
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					report(err)
					return
				}
			}
			bulkBytes.Add(total)
			done()
		case "accept":
			_, err := c.Write([]byte{1})
			c.Close()
			if err != nil {
				report(err)
				return
			}
			done()
		case "pipeline":
			defer c.Close()
			r := bufio.NewReaderSize(c, 16*1024)
			bw := bufio.NewWriterSize(c, 16*1024)
			for {
				line, err := r.ReadSlice('\n')
				if err == io.EOF && len(line) == 0 {
					break
				}
				if err != nil {
					report(err)
					return
				}
				if len(line) != 16 || !bytes.HasPrefix(line, []byte("GET key:")) || line[14] != '\r' {
					report(fmt.Errorf("not a command: %q", line))
					return
				}
				commands.Add(1)
				bw.WriteString("+OK\r\n")
				if r.Buffered() == 0 {
					if err := bw.Flush(); err != nil {
						report(err)
						return
					}
				}
			}
			if err := bw.Flush(); err != nil {
				report(err)
				return
			}
			done()
		case "idle":
			// Parked in a read until the client goes away.
			if finished.Add(1) == expected {
				go func() {
					time.Sleep(settle)
					report(nil)
				}()
			}
			buf := make([]byte, messageBytes)
			for {
				if _, err := c.Read(buf); err != nil {
					c.Close()
					return
				}
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					report(err)
				}
				return
			}
			go handle(c)
		}
	}()
	if err := <-errs; err != nil {
		fail(err)
	}
	var mem *Memory
	if scenario == "idle" {
		rssAfter, heapAfter := memory()
		mem = &Memory{RssBefore: rssBefore, RssAfter: rssAfter, HeapBefore: heapBefore, HeapAfter: heapAfter}
	}
	cpu, _ := w.stop()
	ln.Close()
	r := ServerReport{Cpu: cpu, Connections: finished.Load(), Bytes: bulkBytes.Load(), Memory: mem}
	if scenario == "pipeline" {
		n := commands.Load()
		r.Commands = &n
	}
	emit(map[string]any{"kind": "served", "report": r})
}

// ---- client

// request is bench/protocol.ts's request(round): the round number big-endian in the first 4
// bytes, then (round + i) & 0xff.
func request(round int, into []byte) []byte {
	binary.BigEndian.PutUint32(into, uint32(round))
	for i := 4; i < messageBytes; i++ {
		into[i] = byte(round + i)
	}
	return into
}

func dial(port int) (*net.TCPConn, error) {
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

func pingPong(c net.Conn, rounds int) error {
	sent := make([]byte, messageBytes)
	received := make([]byte, messageBytes)
	for round := 0; round < rounds; round++ {
		if _, err := c.Write(request(round, sent)); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, received); err != nil {
			return err
		}
		if !bytes.Equal(sent, received) {
			return fmt.Errorf("echo mismatch: sent %x, got %x", sent, received)
		}
	}
	return nil
}

// closeConn ends the connection as the Node clients do: FIN, then wait for the server's.
func closeConn(c *net.TCPConn) error {
	defer c.Close()
	if err := c.CloseWrite(); err != nil {
		return err
	}
	rest, err := io.Copy(io.Discard, c)
	if err == nil && rest != 0 {
		err = fmt.Errorf("%d unexpected bytes before EOF", rest)
	}
	return err
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func client(scenario string, port int, p Params) {
	var cpu Cpu
	var elapsed int64
	var ops int64
	switch scenario {
	case "pingpong":
		c, err := dial(port)
		check(err)
		w := startWindow()
		check(pingPong(c, p.RoundTrips))
		cpu, elapsed = w.stop()
		check(closeConn(c))
		ops = int64(p.RoundTrips)
	case "many":
		conns := make([]*net.TCPConn, p.ManyConnections)
		var wg sync.WaitGroup
		errs := make([]error, p.ManyConnections)
		for i := range conns {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				conns[i], errs[i] = dial(port)
			}(i)
		}
		wg.Wait()
		for _, err := range errs {
			check(err)
		}
		w := startWindow()
		for i, c := range conns {
			wg.Add(1)
			go func(i int, c net.Conn) {
				defer wg.Done()
				errs[i] = pingPong(c, p.ManyRoundTrips)
			}(i, c)
		}
		wg.Wait()
		cpu, elapsed = w.stop()
		for _, err := range errs {
			check(err)
		}
		for i, c := range conns {
			wg.Add(1)
			go func(i int, c *net.TCPConn) {
				defer wg.Done()
				errs[i] = closeConn(c)
			}(i, c)
		}
		wg.Wait()
		for _, err := range errs {
			check(err)
		}
		ops = int64(p.ManyConnections * p.ManyRoundTrips)
	case "bulk":
		c, err := dial(port)
		check(err)
		chunk := bytes.Repeat([]byte{0x5a}, p.ChunkBytes)
		ack := make([]byte, 2)
		w := startWindow()
		for sent := 0; sent < p.BulkBytes; sent += len(chunk) {
			_, err := c.Write(chunk)
			check(err)
		}
		n, err := c.Read(ack)
		check(err)
		if n != 1 || ack[0] != 1 {
			fail(fmt.Errorf("bad ack: %x", ack[:n]))
		}
		cpu, elapsed = w.stop()
		check(closeConn(c))
		ops = int64(p.BulkBytes)
	case "accept":
		var next atomic.Int64
		var wg sync.WaitGroup
		var firstErr atomic.Value
		w := startWindow()
		lanes := p.AcceptConcurrency
		if lanes > p.AcceptConnections {
			lanes = p.AcceptConnections
		}
		for lane := 0; lane < lanes; lane++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 16)
				for next.Add(1) <= int64(p.AcceptConnections) {
					err := func() error {
						c, err := dial(port)
						if err != nil {
							return err
						}
						defer c.Close()
						received := 0
						for {
							n, err := c.Read(buf)
							received += n
							if err == io.EOF {
								break
							}
							if err != nil {
								return err
							}
						}
						if received != 1 {
							return fmt.Errorf("expected 1 byte before EOF, got %d", received)
						}
						return nil
					}()
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		cpu, elapsed = w.stop()
		if err, ok := firstErr.Load().(error); ok {
			fail(err)
		}
		ops = int64(p.AcceptConnections)
	case "pipeline":
		c, err := dial(port)
		check(err)
		commands := make([][]byte, p.PipelineCommands)
		for i := range commands {
			commands[i] = []byte(fmt.Sprintf("GET key:%06d\r\n", i))
		}
		replyBytes := p.PipelineCommands * len("+OK\r\n")
		buf := make([]byte, 64*1024)
		w := startWindow()
		for batch := 0; batch < p.PipelineBatches; batch++ {
			// One writev of the batch's commands.
			bufs := net.Buffers(append([][]byte(nil), commands...))
			_, err := bufs.WriteTo(c)
			check(err)
			lines, got := 0, 0
			for lines < p.PipelineCommands && got < replyBytes {
				n, err := c.Read(buf)
				check(err)
				lines += bytes.Count(buf[:n], []byte{'\n'})
				got += n
			}
			if lines != p.PipelineCommands || got != replyBytes {
				fail(fmt.Errorf("batch %d: %d lines in %d bytes, expected %d in %d", batch, lines, got, p.PipelineCommands, replyBytes))
			}
		}
		cpu, elapsed = w.stop()
		check(closeConn(c))
		ops = int64(p.PipelineBatches * p.PipelineCommands)
	default:
		fail(fmt.Errorf("client: unknown scenario %s", scenario))
	}
	emit(map[string]any{"kind": "done", "report": ClientReport{Cpu: cpu, ElapsedNs: elapsed, Operations: ops}})
}

func main() {
	usage := errors.New("usage: netbench serve <scenario> <params JSON> | netbench client <scenario> <port> <params JSON>")
	if len(os.Args) < 4 {
		fail(usage)
	}
	// The worker that spawned us closing our stdin (or dying) ends us.
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	var p Params
	switch os.Args[1] {
	case "serve":
		check(json.Unmarshal([]byte(os.Args[3]), &p))
		serve(os.Args[2], p)
	case "client":
		if len(os.Args) < 5 {
			fail(usage)
		}
		port, err := strconv.Atoi(os.Args[3])
		check(err)
		check(json.Unmarshal([]byte(os.Args[4]), &p))
		client(os.Args[2], port, p)
	default:
		fail(usage)
	}
}
