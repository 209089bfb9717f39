// Command demo is the test cluster's smoke-test workload (ci/kube/smoke.sh): a static HTTP
// server for a FROM-scratch image, and a client mode that proves a pod can resolve a Service by
// its DNS name and reach it, since a scratch image has no shell, nslookup or curl.
//
//	demo serve            answer every request with "hello from HOSTNAME" on $PORT (8080)
//	demo get URL          resolve URL's host, GET it, print both; exit 1 on failure
//	demo get-loop URL     `get` every 2 s forever (a pod whose logs show the answers)
//	demo dial HOST:PORT   open a TCP connection (e.g. to the host's PostgreSQL) and close it
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: demo serve | demo get URL | demo get-loop URL")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve()
	case "dial":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: demo dial HOST:PORT")
			os.Exit(2)
		}
		c, err := net.DialTimeout("tcp", os.Args[2], 5*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
		fmt.Printf("connected %s -> %s\n", c.LocalAddr(), c.RemoteAddr())
		c.Close()
	case "get", "get-loop":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: demo", os.Args[1], "URL")
			os.Exit(2)
		}
		for {
			err := get(os.Args[2])
			if os.Args[1] == "get" {
				if err != nil {
					fmt.Fprintln(os.Stderr, "demo:", err)
					os.Exit(1)
				}
				return
			}
			if err != nil {
				fmt.Println("error:", err)
			}
			time.Sleep(2 * time.Second)
		}
	default:
		fmt.Fprintln(os.Stderr, "demo: unknown mode", os.Args[1])
		os.Exit(2)
	}
}

func serve() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s (%s %s, Host %s)\n", host, r.Method, r.URL.Path, r.Host)
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	fmt.Println("demo: serving on :" + port)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func get(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	addrs, err := net.LookupHost(u.Hostname())
	if err != nil {
		return fmt.Errorf("lookup %s: %w", u.Hostname(), err)
	}
	fmt.Printf("resolved %s -> %v\n", u.Hostname(), addrs)
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(raw)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Printf("GET %s -> %s: %s", raw, resp.Status, body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}
