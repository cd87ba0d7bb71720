// Package config reads herald serve's settings from flags and HERALD_*
// environment variables: a flag beats its variable, which beats the default.
// Every problem is reported at once. It holds no global state: Load takes
// the arguments and an environment lookup function.
package config
