// Package send is the message model of Herald's send API: it validates a
// send request (target, content, options) with errors that name the field,
// turns it into a store.Message, and hands it to the delivery engine, which
// answers only once the message is durable.
//
// The compat adapters translate their own requests into a Request and
// share these rules. Safe for concurrent use.
package send
