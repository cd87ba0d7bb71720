package importer

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

// Azure Notification Hubs' bulk export ("Export and import Azure
// Notification Hubs registrations in bulk", learn.microsoft.com/azure/
// notification-hubs/export-modify-registrations-bulk) writes one
// registration a line, as RegistrationDescription.Serialize() gives it: a
// DataContract XML element in the namespace
// http://schemas.microsoft.com/netservices/2010/10/servicebus/connect, for
// example
//
//	<GcmRegistrationDescription xmlns:i="…" xmlns="…/servicebus/connect"><ETag>3</ETag><ExpirationTime>9999-12-31T23:59:59.9999999Z</ExpirationTime><RegistrationId>7463…</RegistrationId><Tags>sports,$UserId:{42}</Tags><GcmRegistrationId>dKd7…</GcmRegistrationId></GcmRegistrationDescription>
//
// The element and member names are those of the Microsoft.Azure.
// NotificationHubs SDK's DataMember attributes (RegistrationDescription:
// ETag, ExpirationTime, RegistrationId, Tags, PushVariables; then one
// handle per platform). What Herald maps:
//
//	GcmRegistrationDescription    GcmRegistrationId    → fcm token
//	FcmRegistrationDescription    FcmRegistrationId    → fcm token
//	FcmV1RegistrationDescription  FcmV1RegistrationId  → fcm token
//	AppleRegistrationDescription  DeviceToken          → apns token
//	BrowserRegistrationDescription Endpoint, P256DH, Auth → webpush subscription
//	Tags (comma-separated)                             → tags, except:
//	  $InstallationId:{…}  dropped (Azure's own installation tag)
//	  $UserId:{u}          → alias u (the installation's user id)
//
// The *TemplateRegistrationDescription variants map the same way (their
// templates have no Herald equivalent and are ignored). Windows (WNS),
// Mpns, Adm, Baidu and Xiaomi registrations have no Herald channel and are
// bad rows. RegistrationId, ETag, ExpirationTime and PushVariables are not
// kept. A line may also be the Atom <entry><content>…</content></entry>
// that the REST API wraps a description in.
type azureDescription struct {
	Tags                string `xml:"Tags"`
	GcmRegistrationID   string `xml:"GcmRegistrationId"`
	FcmRegistrationID   string `xml:"FcmRegistrationId"`
	FcmV1RegistrationID string `xml:"FcmV1RegistrationId"`
	DeviceToken         string `xml:"DeviceToken"`
	Endpoint            string `xml:"Endpoint"`
	P256DH              string `xml:"P256DH"`
	Auth                string `xml:"Auth"`
}

const (
	azureUserTag         = "$UserId:{"
	azureInstallationTag = "$InstallationId:{"
)

type azureSource struct{ lines *lineReader }

func (s *azureSource) next() (record, error) {
	for {
		rec, err := s.lines.next()
		// An XML declaration alone on a line precedes no registration.
		if err == nil && rec.bad == "" && bytes.HasPrefix(rec.text, []byte("<?xml")) && bytes.HasSuffix(rec.text, []byte("?>")) {
			continue
		}
		return rec, err
	}
}

func (s *azureSource) parse(rec record) (entry, error) {
	d := xml.NewDecoder(bytes.NewReader(rec.text))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return entry{}, errors.New("no registration description on the line")
		}
		if err != nil {
			return entry{}, fmt.Errorf("malformed XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || !strings.HasSuffix(se.Name.Local, "RegistrationDescription") {
			continue // <entry>, <content>
		}
		var desc azureDescription
		if err := d.DecodeElement(&desc, &se); err != nil {
			return entry{}, fmt.Errorf("malformed XML in %s: %v", se.Name.Local, err)
		}
		return azureEntry(se.Name.Local, desc)
	}
}

func azureEntry(kind string, d azureDescription) (entry, error) {
	var r registry.Registration
	platform := strings.TrimSuffix(strings.TrimSuffix(kind, "RegistrationDescription"), "Template")
	switch platform {
	case "Gcm":
		r.Channel, r.Token = store.ChannelFCM, strings.TrimSpace(d.GcmRegistrationID)
	case "Fcm":
		r.Channel, r.Token = store.ChannelFCM, strings.TrimSpace(d.FcmRegistrationID)
	case "FcmV1":
		r.Channel, r.Token = store.ChannelFCM, strings.TrimSpace(d.FcmV1RegistrationID)
	case "Apple":
		r.Channel, r.Token = store.ChannelAPNs, strings.TrimSpace(d.DeviceToken)
	case "Browser":
		r.Channel = store.ChannelWebPush
		r.Endpoint, r.P256DH, r.Auth = strings.TrimSpace(d.Endpoint), strings.TrimSpace(d.P256DH), strings.TrimSpace(d.Auth)
	default:
		return entry{}, fmt.Errorf("%s: Azure %s registrations have no Herald channel (Herald delivers through Web Push, FCM and APNs)", kind, platform)
	}
	for _, t := range strings.Split(d.Tags, ",") {
		switch t = strings.TrimSpace(t); {
		case t == "", strings.HasPrefix(t, azureInstallationTag):
		case strings.HasPrefix(t, azureUserTag) && strings.HasSuffix(t, "}"):
			if r.Alias == "" {
				r.Alias = t[len(azureUserTag) : len(t)-1]
			}
		default:
			r.Tags = append(r.Tags, t)
		}
	}
	return entry{reg: r}, nil
}
