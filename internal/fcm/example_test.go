package fcm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/fcm"
	"github.com/heraldpush/herald/internal/fcm/fcmtest"
)

func Example() {
	// A fake FCM stands in for Google here; in production keyFile is the
	// service account's JSON key and Options{} talks to FCM.
	srv, err := fcmtest.Start(fcmtest.Options{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	keyFile := srv.ServiceAccount()

	sa, err := fcm.ParseServiceAccount(keyFile)
	if err != nil {
		panic(err)
	}
	c := fcm.NewClient(sa, fcm.Options{BaseURL: srv.URL()})
	res, err := c.Send(context.Background(), fcm.Message{
		Token:    "device-registration-token",
		Title:    "Order shipped",
		Body:     "It will arrive on Tuesday",
		URL:      "https://shop.example/orders/42",
		TTL:      time.Hour,
		Priority: fcm.PriorityFromUrgency("high"),
	})
	fmt.Println(res.Outcome, res.Status, err)

	srv.Fail("dead-token", fcmtest.Unregistered())
	res, _ = c.Send(context.Background(), fcm.Message{Token: "dead-token", Title: "Hi"})
	fmt.Println(res.Outcome, res.Reason)
	// Output:
	// delivered 200 <nil>
	// gone UNREGISTERED
}
