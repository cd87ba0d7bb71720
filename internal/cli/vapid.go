package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/webpush"
)

// runVAPID is herald vapid: generate prints a new key pair in the form the
// web-push libraries use; set imports an existing private key into an app
// (so subscriptions made against another server keep working) and sets the
// contact sent in VAPID JWTs.
func runVAPID(ctx context.Context, args []string, env Env) error {
	const want = "vapid: want a subcommand: generate or set"
	if len(args) == 0 {
		return usageError{want}
	}
	fs := flag.NewFlagSet("herald vapid "+args[0], flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	switch args[0] {
	case "generate":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return usageError{fmt.Sprintf("vapid generate: unexpected argument %q", fs.Arg(0))}
		}
		key, err := webpush.GenerateVAPIDKey()
		if err != nil {
			return err
		}
		pub, priv := webpush.EncodeBase64(key.PublicKey()), webpush.EncodeBase64(key.Bytes())
		if *asJSON {
			return writeJSON(env, map[string]string{"publicKey": pub, "privateKey": priv})
		}
		fmt.Fprintf(env.Stdout, "Public Key:\n%s\n\nPrivate Key:\n%s\n", pub, priv)
		return nil
	case "set":
	default:
		return usageError{fmt.Sprintf("vapid: unknown subcommand %q: want generate or set", args[0])}
	}
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: herald vapid set --app ID [--private-key-file FILE] [--subject mailto:…|https://…] [--json]")
		fs.PrintDefaults()
	}
	var sf storeFlags
	sf.register(fs)
	id := fs.String("app", "", "app id (required)")
	keyFile := fs.String("private-key-file", "", "file holding the existing private key, base64url as web-push prints it (- for stdin)")
	subject := fs.String("subject", "", "contact put in VAPID JWTs: a mailto: or https: URI")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("vapid set: unexpected argument %q", fs.Arg(0))}
	}
	sf.resolve(fs, env.Getenv)
	if *id == "" || (*keyFile == "" && *subject == "") {
		return usageError{"vapid set: --app and at least one of --private-key-file and --subject are required"}
	}
	var v apps.VAPIDSettings
	v.Subject = *subject
	if *keyFile != "" {
		raw, err := readKeyFile(*keyFile)
		if err != nil {
			return err
		}
		v.PrivateKey, err = webpush.DecodeBase64(strings.TrimSpace(string(raw)))
		if err != nil {
			return fmt.Errorf("vapid set: %s: not base64url: %w", *keyFile, err)
		}
	}
	master, err := secret.LoadMasterKey(env.Getenv, sf.data)
	if err != nil {
		return err
	}
	sealer, err := secret.NewSealer(master)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, sf.data, sf.store)
	if err != nil {
		return err
	}
	defer st.Close()
	info, err := apps.New(st, sealer, time.Now).SetVAPID(ctx, *id, v)
	if err != nil {
		return err
	}
	return printInfo(env, info, *asJSON, fmt.Sprintf("VAPID for %s: public key %s, subject %s", info.App, info.PublicKey, info.Subject))
}

func readKeyFile(name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("vapid set: read stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("vapid set: %w", err)
	}
	return b, nil
}
