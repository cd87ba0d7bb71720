// Package apps manages tenants: creating an app with every credential it
// needs (Herald API key, EngageLab AppKey and MasterSecret, Najva token and
// api_key, webtoapp API key, VAPID key pair), rotating each credential,
// and finding the app a presented credential belongs to.
//
// Secrets leave this package once, in the Credentials returned by Create and
// Rotate; the store keeps only their SHA-256 digests, and the VAPID private
// key is sealed with the master key. A Service is safe for concurrent use.
package apps
