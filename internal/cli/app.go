package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/callback"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/webpush"
)

func runApp(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return usageError{"app: want a subcommand: create, list, rotate-key, set-fcm, set-apns, set-callback or clear-callback"}
	}
	fs := flag.NewFlagSet("herald app "+args[0], flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var sf storeFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	var name, id, kind *string
	var saFile, keyFile, keyID, teamID, topic *string
	var production *bool
	var cbURL *string
	var rotate *bool
	switch args[0] {
	case "create":
		name = fs.String("name", "", "the app's name (required)")
	case "list":
	case "rotate-key":
		id = fs.String("app", "", "app id (required)")
		kind = fs.String("kind", "", fmt.Sprintf("credential to rotate: one of %v (required)", apps.Kinds()))
	case "set-fcm":
		id = fs.String("app", "", "app id (required)")
		saFile = fs.String("service-account", "", "the Firebase service-account JSON file (required)")
	case "set-apns":
		id = fs.String("app", "", "app id (required)")
		keyFile = fs.String("key", "", "the AuthKey_<key id>.p8 file (required)")
		keyID = fs.String("key-id", "", "the key's 10-character id (required)")
		teamID = fs.String("team-id", "", "the Apple developer team id (required)")
		topic = fs.String("topic", "", "the app's bundle id (required)")
		production = fs.Bool("production", false, "use APNs production (default: the sandbox, for development builds)")
	case "set-callback":
		id = fs.String("app", "", "app id (required)")
		cbURL = fs.String("url", "", "the http(s) URL Herald posts the app's events to (required)")
		rotate = fs.Bool("rotate-secret", false, "make a new signing secret even if the app has one")
	case "clear-callback":
		id = fs.String("app", "", "app id (required)")
	default:
		return usageError{fmt.Sprintf("app: unknown subcommand %q: want create, list, rotate-key, set-fcm, set-apns, set-callback or clear-callback", args[0])}
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("app %s: unexpected argument %q", args[0], fs.Arg(0))}
	}
	sf.resolve(fs, env.Getenv)
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
	svc := apps.New(st, sealer, time.Now)

	switch args[0] {
	case "create":
		if *name == "" {
			return usageError{"app create: --name is required"}
		}
		c, err := svc.Create(ctx, *name)
		if err != nil {
			return err
		}
		return printCredentials(env, c, *asJSON)
	case "set-fcm":
		if *id == "" || *saFile == "" {
			return usageError{"app set-fcm: --app and --service-account are required"}
		}
		b, err := os.ReadFile(*saFile)
		if err != nil {
			return err
		}
		info, err := apps.NewChannels(svc, st).SetFCM(ctx, *id, b)
		if err != nil {
			return err
		}
		return printInfo(env, info, *asJSON, fmt.Sprintf("FCM for %s: project %s, %s", *id, info.ProjectID, info.ClientEmail))
	case "set-apns":
		if *id == "" || *keyFile == "" || *keyID == "" || *teamID == "" || *topic == "" {
			return usageError{"app set-apns: --app, --key, --key-id, --team-id and --topic are required"}
		}
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		info, err := apps.NewChannels(svc, st).SetAPNs(ctx, *id, apps.APNsKey{P8: b, KeyID: *keyID, TeamID: *teamID, Topic: *topic, Production: *production})
		if err != nil {
			return err
		}
		where := map[bool]string{true: "production", false: "sandbox"}[info.Production]
		return printInfo(env, info, *asJSON, fmt.Sprintf("APNs for %s: key %s, team %s, topic %s, %s", *id, info.KeyID, info.TeamID, info.Topic, where))
	case "set-callback", "clear-callback":
		return runCallback(ctx, env, callback.NewService(st, sealer, time.Now), args[0], *id, cbURL, rotate, *asJSON)
	case "rotate-key":
		if *id == "" || *kind == "" {
			return usageError{"app rotate-key: --app and --kind are required"}
		}
		c, err := svc.Rotate(ctx, *id, apps.Kind(*kind))
		if err != nil {
			return err
		}
		return printCredentials(env, c, *asJSON)
	}
	list, err := svc.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			ID             string    `json:"id"`
			Name           string    `json:"name"`
			CreatedAt      time.Time `json:"created_at"`
			EngageLabKey   string    `json:"engagelab_app_key"`
			NajvaAPIKey    string    `json:"najva_api_key"`
			VAPIDPublicKey string    `json:"vapid_public_key"`
		}
		rows := make([]row, len(list))
		for i, a := range list {
			rows[i] = row{a.ID, a.Name, a.CreatedAt, a.EngageLabAppKey, a.NajvaAPIKey, webpush.EncodeBase64(a.VAPIDPublicKey)}
		}
		return writeJSON(env, rows)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tENGAGELAB APP KEY\tNAJVA API KEY")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.CreatedAt.Format(time.RFC3339), a.EngageLabAppKey, a.NajvaAPIKey)
	}
	return tw.Flush()
}

// printInfo prints v as JSON, or text as a line.
func printInfo(env Env, v any, asJSON bool, text string) error {
	if asJSON {
		return writeJSON(env, v)
	}
	_, err := fmt.Fprintln(env.Stdout, text)
	return err
}

func writeJSON(env Env, v any) error {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printCredentials(env Env, c apps.Credentials, asJSON bool) error {
	if asJSON {
		return writeJSON(env, c)
	}
	w := env.Stdout
	fmt.Fprintf(w, "App %s (%s)\n", c.ID, c.Name)
	fmt.Fprintln(w, "These secrets are shown once; Herald keeps only their digests.")
	if c.APIKey != "" {
		fmt.Fprintf(w, "  Herald API key (Bearer):      %s\n", c.APIKey)
	}
	if c.EngageLab != nil {
		fmt.Fprintf(w, "  EngageLab AppKey:             %s\n", c.EngageLab.AppKey)
		fmt.Fprintf(w, "  EngageLab MasterSecret:       %s\n", c.EngageLab.MasterSecret)
	}
	if c.Najva != nil {
		fmt.Fprintf(w, "  Najva token:                  %s\n", c.Najva.Token)
		fmt.Fprintf(w, "  Najva api_key:                %s\n", c.Najva.APIKey)
	}
	if c.Webtoapp != nil {
		fmt.Fprintf(w, "  webtoapp API key:             %s\n", c.Webtoapp.APIKey)
	}
	fmt.Fprintf(w, "  VAPID public key:             %s\n", c.VAPIDPublicKey)
	return nil
}
