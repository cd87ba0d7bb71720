// Package cli is the herald command: it parses each subcommand's flags and
// environment, wires the packages together and runs them. It holds no
// business logic; cmd/herald only calls Run.
package cli
