package apns_test

import (
	"encoding/json"
	"fmt"

	"github.com/heraldpush/herald/internal/apns"
)

func ExampleNotification_Payload() {
	alert := apns.Notification{
		Title: "Order shipped",
		Body:  "Arrives Tuesday",
		Sound: "default",
		URL:   "https://shop.example/orders/42",
		Data:  json.RawMessage(`{"order_id":42}`),
	}
	b, _ := alert.Payload()
	fmt.Println(alert.PushType(), string(b))

	background := apns.Notification{Data: json.RawMessage(`{"sync":"inbox"}`)}
	b, _ = background.Payload()
	fmt.Println(background.PushType(), string(b))
	// Output:
	// alert {"aps":{"alert":{"title":"Order shipped","body":"Arrives Tuesday"},"sound":"default"},"order_id":42,"url":"https://shop.example/orders/42"}
	// background {"aps":{"content-available":1},"sync":"inbox"}
}
