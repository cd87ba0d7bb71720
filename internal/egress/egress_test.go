package egress

import "testing"

func TestCheck(t *testing.T) {
	p, err := New([]string{"127.0.0.1", "push.example.test:8443", "http://[::1]:9000"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://updates.push.services.mozilla.com/wpush/v2/abc", true},
		{"https://fcm.googleapis.com/fcm/send/abc", true},
		{"https://web.push.apple.com/QGx", true},
		{"https://wns2-by3p.notify.windows.com/w/?token=x", true},
		{"http://fcm.googleapis.com/fcm/send/abc", false},         // plain http to a public service
		{"https://fcm.googleapis.com:8443/fcm/send/abc", false},   // odd port
		{"https://evilfcm.googleapis.com.attacker.test/x", false}, // suffix trick
		{"https://notpush.services.mozilla.com.evil.test/x", false},
		{"https://10.0.0.1/x", false},
		{"https://localhost/x", false},
		{"http://127.0.0.1:4000/wpush/1", true}, // widened host, any port, http
		{"https://127.0.0.1/wpush/1", true},
		{"http://push.example.test:8443/x", true},
		{"http://push.example.test:9999/x", false}, // widened with a port: only that port
		{"http://[::1]:9000/x", true},
		{"ftp://127.0.0.1/x", false},
		{"/relative/path", false},
		{"https://user:pw@fcm.googleapis.com/x", false},
		{"not a url at all", false},
	}
	for _, tc := range tests {
		err := p.Check(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestDefaultPolicyRefusesLoopback(t *testing.T) {
	var p Policy
	if err := p.Check("http://127.0.0.1:8080/wpush/1"); err == nil {
		t.Error("the zero policy allowed loopback")
	}
}

func TestNewRefusesGarbage(t *testing.T) {
	for _, e := range []string{"http://", "a/b", "x y"} {
		if _, err := New([]string{e}); err == nil {
			t.Errorf("New(%q) accepted", e)
		}
	}
}
