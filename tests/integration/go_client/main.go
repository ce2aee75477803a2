// A Go client with cgo (so it is linked with libc and loads the shim):
// it dials os.Args[1], writes a line and prints what the server sends back.
// Go's net package makes its own system calls, which no hook sees
// (tests/integration/test_go_program.py).
package main

// #include <stdlib.h>
import "C"

import (
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	conn, err := net.Dial("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	conn.Write([]byte("hello from go\n"))
	reply, _ := io.ReadAll(conn)
	os.Stdout.Write(reply)
}
