//go:build ignore

// gen-import-csv writes a Herald import CSV of generated subscribers to
// standard output, for scripts/bench-import:
//
//	go run scripts/gen-import-csv.go -rows 1000000 > subs.csv
//
// Rows are like a migrated app's: in every 5, 2 Web Push subscriptions (an
// endpoint on FCM's push service and a real P-256 key), 2 FCM tokens (162
// characters) and 1 APNs token (64 hex digits), each token random so rows
// land all over the token index; 0 to 3 tags, an alias on 3 rows in 4, a
// language on all. The same -rows and -seed give the same file.
package main

import (
	"bufio"
	"crypto/ecdh"
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows to write")
	seed := flag.Uint64("seed", 1, "seed of the random tokens and keys")
	flag.Parse()
	rng := rand.New(rand.NewPCG(*seed, 0))
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	fmt.Fprintln(w, "token,platform,tags,alias,language")
	langs := []string{"en", "fa", "de", "zh-Hans", "pt-BR"}
	tags := []string{"", "news", "news|sports", "news|sports|vip"}
	// A few distinct Web Push keys: every row costs the same point check.
	var keys []string
	for range 16 {
		k, err := ecdh.P256().NewPrivateKey(randBytes(rng, 32))
		if err != nil {
			log.Fatal(err)
		}
		keys = append(keys, fmt.Sprintf(`"{""endpoint"":""https://fcm.googleapis.com/fcm/send/%%s"",""keys"":{""p256dh"":""%s"",""auth"":""%s""}}"`,
			base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
			base64.RawURLEncoding.EncodeToString(randBytes(rng, 16))))
	}
	for i := range *rows {
		alias := ""
		if i%4 != 0 {
			alias = fmt.Sprintf("user-%d", i/2)
		}
		rest := fmt.Sprintf("%s,%s,%s", tags[i%len(tags)], alias, langs[i%len(langs)])
		switch i % 5 {
		case 0, 1:
			fmt.Fprintf(w, keys[i%len(keys)]+",webpush,%s\n", fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()), rest)
		case 2, 3:
			fmt.Fprintf(w, "%016x%07d:APA91bH%0132d,fcm,%s\n", rng.Uint64(), i, rng.Uint64(), rest)
		default:
			fmt.Fprintf(w, "%016x%016x%016x%016x,apns,%s\n", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64(), rest)
		}
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
