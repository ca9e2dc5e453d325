// Command parley-load sends HTTP load to a running Parley (or anything
// else) from this machine and prints requests/s and latency percentiles.
//
//	parley-load -url 'http://127.0.0.1:8080/api/v1/sites/demo/comments?page=demo-article' -c 32 -d 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"parley/internal/loadgen"
)

func main() {
	url := flag.String("url", "", "URL to request (required)")
	conns := flag.Int("c", 32, "concurrent connections")
	dur := flag.Duration("d", 10*time.Second, "how long to run (at most 10m)")
	flag.Parse()
	if *url == "" || *dur <= 0 || *dur > 10*time.Minute {
		flag.Usage()
		os.Exit(2)
	}
	res, err := loadgen.Run(context.Background(), loadgen.Config{URL: *url, Conns: *conns, Duration: *dur})
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley-load:", err)
		os.Exit(1)
	}
	fmt.Println(res)
	if res.Requests == 0 {
		os.Exit(1)
	}
}
