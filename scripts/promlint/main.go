// Command promlint reads a Prometheus text exposition on stdin and prints one line per problem that
// promtool's `check metrics` would report (it is the same linter: client_golang's testutil/promlint).
// Exit status: 0 no problems, 3 problems found (as promtool), 1 the input could not be parsed.
package main

import (
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func main() {
	problems, err := promlint.New(os.Stdin).Lint()
	if err != nil {
		fmt.Fprintf(os.Stderr, "promlint: error while linting: %v\n", err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Printf("%s: %s\n", p.Metric, p.Text)
	}
	if len(problems) > 0 {
		os.Exit(3)
	}
}
