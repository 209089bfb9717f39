// Command pause is the pod sandbox's process: it holds the pod's namespaces open, reaps the
// zombies of a shared process namespace, and exits on SIGINT or SIGTERM. The usual image
// (registry.k8s.io/pause) cannot be pulled on our machines, so ci/kube.sh builds this one.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
