// configcheck checks configuration files stackport writes or reads with the libraries the tools
// that consume them are built on, so the tests need neither the tools nor a network.
//
//	configcheck tiltfile [--k8s-context NAME] FILE   run a Tiltfile, print the Tilt API calls as JSON
//	configcheck kind-config FILE                     strictly decode a kind cluster config
//	configcheck unseal --key PRIVATE.pem FILE        decrypt SealedSecrets with upstream's Unseal, print the Secrets as JSON
//	configcheck --version
//
// Exit status: 0 when the file is good, 1 when it is not (the error on stderr), 2 on usage errors.
package main

import (
	"fmt"
	"os"
)

// version is set by scripts/cluster/build.sh (-X main.version=...) to the hash of these sources.
var version = "dev"

const usage = `usage: configcheck tiltfile [--k8s-context NAME] FILE
       configcheck kind-config FILE
       configcheck unseal --key PRIVATE.pem FILE
       configcheck --version`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "--version":
		fmt.Printf("configcheck %s\n", version)
		return 0
	case "tiltfile":
		context := "unknown"
		rest := args[1:]
		if len(rest) >= 2 && rest[0] == "--k8s-context" {
			context, rest = rest[1], rest[2:]
		}
		if len(rest) != 1 {
			fmt.Fprintln(os.Stderr, usage)
			return 2
		}
		out, err := checkTiltfile(rest[0], context)
		return report(out, err)
	case "kind-config":
		if len(args) != 2 {
			fmt.Fprintln(os.Stderr, usage)
			return 2
		}
		return report("ok\n", checkKindConfig(args[1]))
	case "unseal":
		if len(args) != 4 || args[1] != "--key" {
			fmt.Fprintln(os.Stderr, usage)
			return 2
		}
		out, err := unseal(args[2], args[3])
		return report(out, err)
	default:
		fmt.Fprintf(os.Stderr, "configcheck: unknown subcommand %q\n%s\n", args[0], usage)
		return 2
	}
}

func report(out string, err error) int {
	if err != nil {
		fmt.Fprintf(os.Stderr, "configcheck: %v\n", err)
		return 1
	}
	fmt.Print(out)
	return 0
}
